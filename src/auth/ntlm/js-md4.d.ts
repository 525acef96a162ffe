/** Types for js-md4 0.3 (a pure-JavaScript MD4; OpenSSL 3 in Node 20 has none). */
declare module 'js-md4' {
  type Md4Input = string | ArrayBuffer | Uint8Array | number[];
  interface Md4 {
    arrayBuffer(message: Md4Input): ArrayBuffer;
    hex(message: Md4Input): string;
  }
  const md4: Md4;
  export default md4;
}
