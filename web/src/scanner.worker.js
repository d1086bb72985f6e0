// The scanner page's QR decoder (jsQR), off the page's main thread: the page sends one camera
// frame at a time (its pixels transferred, not copied) and gets the code's text or null, so
// drawing the verdict and talking to the gate device never wait behind a decode.
import jsQR from "jsqr";

self.onmessage = (event) => {
  const { id, width, height, buffer } = event.data;
  const found = jsQR(new Uint8ClampedArray(buffer), width, height, {
    inversionAttempts: "dontInvert",
  });
  self.postMessage({ id, text: found ? found.data : null });
};
