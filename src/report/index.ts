// The reporters: pure functions from a Diff (or Analysis) to strings and objects.
export { checkTitle, checkSummary, conclusion, stickyComment, shortRegression, MAX_SUMMARY_BYTES, STICKY_MARKER } from "./markdown.ts";
export type { SummaryOptions, Conclusion } from "./markdown.ts";
export { layoutDiagram } from "./diagram.ts";
export { reorderSuggestion, planReorder } from "./suggestion.ts";
export type { Suggestion, SuggestionPlan } from "./suggestion.ts";
export { checkAnnotations, findingAnnotation, batch } from "./annotations.ts";
export type { Annotation, AnnotationOptions } from "./annotations.ts";
export { reviewComments, findingMarker, parseMarker, findingIds, structId, withoutPosted } from "./review.ts";
export type { ReviewComment, ReviewOptions } from "./review.ts";
export { toSarif, LAYOUT_RULES, SARIF_SCHEMA } from "./sarif.ts";
export type { SarifOptions } from "./sarif.ts";
export { textReport } from "./text.ts";
export type { TextOptions } from "./text.ts";
