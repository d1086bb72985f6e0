// Event page: live charts (filled in by the analytics step).
export function initEventPage() {}
