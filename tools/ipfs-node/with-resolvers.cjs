// Node 20 lacks Promise.withResolvers (ES2024), which a js-ipfs 0.66.1 dependency calls during
// `jsipfs init`; metadata/jsipfs.py loads this file with `node --require` before the CLI.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
