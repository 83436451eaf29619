// A review that stops for a reason the user can act on (too large, too slow, too much memory).
// The job runner ends the check run with this title and summary, never leaves it in_progress,
// and does not retry: the same input would hit the same limit again.
export class ReviewLimitError extends Error {
  constructor(
    /** Check-run title, e.g. "memcheck could not finish". */
    readonly title: string,
    /** Check-run summary: what stopped the review and what the user can change (markdown, inert). */
    readonly summary: string,
  ) {
    super(`${title}: ${summary.split("\n")[0]}`);
    this.name = "ReviewLimitError";
  }
}

export function isReviewLimitError(e: unknown): e is ReviewLimitError {
  return e instanceof ReviewLimitError;
}
