// Vite entry: boot a node, then mount the page.
import { mount } from 'svelte';
import App from './App.svelte';
import { boot } from './boot.ts';

const node = boot();
const target = document.getElementById('app');
if (target) mount(App, { target, props: { node } });
