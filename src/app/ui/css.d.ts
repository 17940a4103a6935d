// Vite turns CSS imports into <style>/<link> in the page; to TypeScript they are side effects only.
declare module '*.css';
