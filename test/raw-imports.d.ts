/** Vite's `?raw` suffix: a file's text, e.g. `.dev.vars.example` for the configuration tests. */
declare module "*?raw" {
  const text: string;
  export default text;
}
