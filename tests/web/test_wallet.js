// An EIP-6963 test wallet for the browser tests: announces one EIP-1193 provider per entry of
// window.__FG_WALLETS__ (set by the test before this script) and forwards every request to the
// dev node, whose unlocked accounts sign (personal_sign becomes the node's eth_sign, the same
// EIP-191 signature). It starts on `startChainId` and switches to the node's chain when asked,
// so the page's switch prompt is exercised. Node errors are rethrown as EIP-1193 errors
// ({code, message, data}), as real wallets do, and gas is estimated when a page leaves it out.
(() => {
  const wallets = window.__FG_WALLETS__ || [];
  let rpcId = 1;
  const rpc = async (url, method, params) => {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: rpcId++, method, params: params || [] }),
    });
    const body = await r.json();
    if (body.error) {
      const err = new Error(body.error.message);
      err.code = body.error.code;
      err.data = body.error.data;
      throw err;
    }
    return body.result;
  };
  for (const w of wallets) {
    const listeners = {};
    let chainId = w.startChainId;
    const emit = (name, value) => (listeners[name] || []).forEach((f) => f(value));
    const provider = {
      isFairgateTestWallet: true,
      on(name, f) { (listeners[name] ||= []).push(f); },
      removeListener(name, f) { listeners[name] = (listeners[name] || []).filter((g) => g !== f); },
      async request({ method, params }) {
        (window.__FG_WALLET_LOG__ ||= []).push({ wallet: w.name, method });
        switch (method) {
          case "eth_requestAccounts":
          case "eth_accounts":
            return [w.account];
          case "eth_chainId":
            return "0x" + chainId.toString(16);
          case "wallet_switchEthereumChain": {
            const wanted = parseInt(params[0].chainId, 16);
            if (wanted !== w.nodeChainId) {
              const err = new Error("Unrecognized chain ID");
              err.code = 4902;
              throw err;
            }
            chainId = wanted;
            emit("chainChanged", "0x" + chainId.toString(16));
            return null;
          }
          case "personal_sign":
            return rpc(w.rpc, "eth_sign", [params[1], params[0]]);
          case "eth_sendTransaction": {
            if (chainId !== w.nodeChainId) {
              const err = new Error("wrong chain");
              err.code = 4901;
              throw err;
            }
            // as wallets do: estimate the gas when the page left it out (Ganache would use 90,000)
            const tx = { ...params[0] };
            if (!tx.gas) {
              const estimate = BigInt(await rpc(w.rpc, "eth_estimateGas", [tx]));
              tx.gas = "0x" + ((estimate * 12n) / 10n).toString(16);
            }
            return rpc(w.rpc, "eth_sendTransaction", [tx]);
          }
          default:
            return rpc(w.rpc, method, params);
        }
      },
    };
    const info = { uuid: w.uuid, name: w.name, icon: w.icon, rdns: w.rdns };
    const announce = () =>
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  }
})();
