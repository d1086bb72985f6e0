// Contract refusals and wallet errors in plain words. Custom errors are decoded by viem from the
// contract's ABI (served by the bridge from the compiled build); this module only words them.
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, formatEther } from "viem";

const eth = (wei) => `${formatEther(BigInt(wei))} ETH`;
// amounts in the event's currency: plainError's `money` (fan.js passes the event's), else ETH
let amount = eth;
const ticket = (id) => `ticket #${id}`;

const WORDS = {
  PriceAboveCap: ({ price, cap }) =>
    `The price ${amount(price)} is above this ticket's resale cap of ${amount(cap)}. Choose ${amount(cap)} or less.`,
  ResaleClosed: ({ tokenId }) =>
    `Resale of ${ticket(tokenId)} is closed: tickets change hands only while their tier's resale window is open.`,
  SoldOut: ({ requested, remaining }) =>
    `Not enough tickets left: you asked for ${requested}, ${remaining} remain in this tier.`,
  WrongPayment: ({ sent, expected }) =>
    `The price changed: the contract now expects ${amount(expected)}, and ${amount(sent)} was offered. Reload and try again.`,
  EventCancelled: () => "This event is cancelled: nothing more is sold. Ticket holders can claim refunds.",
  EventNotCancelled: () => "Refunds open only if the event is cancelled.",
  SalesClosed: () => "Sales for this event are closed.",
  NotTicketHolder: ({ tokenId }) => `This wallet does not hold ${ticket(tokenId)}.`,
  NotAuthorized: ({ tokenId }) => `This wallet may not do that with ${ticket(tokenId)}.`,
  NotListed: ({ tokenId }) => `${ticket(tokenId)} is not for sale (any more).`,
  ReservedForAnother: ({ tokenId }) => `${ticket(tokenId)} is reserved for another wallet.`,
  GiftNeedsRecipient: () => "A gift needs the address of the wallet that receives it.",
  SelfPurchase: () => "You cannot buy your own ticket.",
  TransferOutsideMarket: () =>
    "Tickets of this event move only through its market, at a capped price.",
  TicketLocked: ({ tokenId }) => `${ticket(tokenId)} is locked: it can no longer change hands.`,
  InvalidReceiver: () => "That address cannot receive tickets.",
  PaidInEth: ({ tokenId }) => `${ticket(tokenId)} was bought on-chain: its refund is claimed from the contract.`,
  FeeOnTransferToken: () => "This event's token takes a fee on every transfer, which the contract refuses: it cannot be paid in this token.",
  NotRefundable: ({ tokenId }) =>
    `${ticket(tokenId)} cannot be refunded from the contract (a card ticket is refunded to the card).`,
  NonexistentTicket: ({ tokenId }) => `${ticket(tokenId)} does not exist (any more).`,
  InvalidCommitment: () => "The ticket key made on this device is not valid. Reload and sign again.",
  UnknownTier: () => "This ticket tier does not exist.",
  NothingToWithdraw: () => "There is nothing to withdraw.",
  PaymentFailed: ({ to }) => `The payment to ${to} failed; the amount waits for them to withdraw it.`,
  InvalidParameter: ({ what }) => `The contract refused a value: ${what}.`,
  MissingRole: () => "This wallet is not allowed to do that.",
  InvalidOrder: ({ tokenId }) => `The sell order for ${ticket(tokenId)} is no longer valid.`,
  Reentrancy: () => "The contract refused a nested call.",
};

/** Revert data anywhere in the error's causes: nodes and wallets nest it differently (geth: code
 * 3 with data; Ganache: -32000 with data; MetaMask: -32603 with data.data or data.originalError). */
function revertData(error) {
  const seen = new Set();
  const stack = [error];
  while (stack.length) {
    const e = stack.pop();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const d = e.data;
    if (typeof d === "string" && /^0x[0-9a-fA-F]{8}/.test(d)) return d;
    if (d && typeof d === "object") stack.push(d, d.originalError);
    if (typeof e.result === "string" && /^0x[0-9a-fA-F]{8}/.test(e.result) && /revert/i.test(e.message || "")) return e.result;
    stack.push(e.cause, e.error);
  }
  return null;
}

/** The decoded revert, if the error is one: {errorName, args (by name)}. */
export function decodedRevert(error, abi) {
  let decoded = null;
  const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  if (reverted?.data) decoded = reverted.data;
  if (!decoded) {
    const data = revertData(error);
    if (!data) return null;
    try {
      decoded = decodeErrorResult({ abi, data });
    } catch {
      return null;
    }
  }
  const { errorName, args } = decoded;
  const entry = abi.find((x) => x.type === "error" && x.name === errorName);
  const named = {};
  (entry?.inputs || []).forEach((input, i) => (named[input.name] = args?.[i]));
  return { errorName, args: named };
}

/** One sentence for the fan, never a raw revert; `money` words amounts in the event's currency. */
export function plainError(error, abi, money = eth) {
  const decoded = decodedRevert(error, abi);
  if (decoded) {
    const words = WORDS[decoded.errorName];
    amount = money;
    try {
      return words ? words(decoded.args) : `The contract refused this (${decoded.errorName}).`;
    } finally {
      amount = eth;
    }
  }
  const code = error?.code ?? error?.cause?.code;
  const walk = (pred) => (error instanceof BaseError ? error.walk(pred) : null);
  if (code === 4001 || walk((e) => e?.code === 4001)) return "You declined the request in your wallet.";
  const text = String(error?.shortMessage || error?.message || error);
  if (/insufficient funds/i.test(text)) return "This wallet does not have enough ETH for this and its fee.";
  if (/reverted/i.test(text)) return "The contract refused this transaction.";
  if (/Failed to fetch|NetworkError|Load failed/.test(text)) return "The network could not be reached. Check your connection and try again.";
  return text.split("\n")[0];
}
