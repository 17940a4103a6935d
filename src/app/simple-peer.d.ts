// The prebuilt browser bundle of simple-peer (it needs no Node polyfills in Vite); same API as the package.
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}
