// Vite's `?raw` imports: the file's text (the shipped components are published from their source).
declare module '*?raw' {
  const text: string;
  export default text;
}
