// The mime extension: saved notebook outputs (application/vnd.graphgrad.graph+json) and .ggtrace files
// (a document with its own file type, opened by a double-click or "Open With") both draw with SavedRenderer.
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { GRAPH_MIME } from "./saved";
import { SavedRenderer, TRACE_MIME } from "./view";

export const VIEWER = "graphgrad viewer";
export const FILE_TYPE = "ggtrace";

const extension: IRenderMime.IExtension = {
  id: "graphgrad:saved-views",
  // safe: every string from the file is shown as text. Ahead of text/html (rank 50), which keeps the
  // static picture for nbconvert and nbviewer; behind the live widget (-10) while its model exists.
  rendererFactory: { safe: true, mimeTypes: [GRAPH_MIME, TRACE_MIME], createRenderer: (options) => new SavedRenderer(options) },
  rank: 40,
  dataType: "string",   // a document's contents: the file as base64
  fileTypes: [{ name: FILE_TYPE, displayName: "graphgrad trace", mimeTypes: [TRACE_MIME], extensions: [".ggtrace"],
    fileFormat: "base64", iconClass: "jp-MaterialIcon jp-ImageIcon" }],
  documentWidgetFactoryOptions: { name: VIEWER, label: "graphgrad viewer", primaryFileType: FILE_TYPE, fileTypes: [FILE_TYPE],
    defaultFor: [FILE_TYPE], modelName: "base64" },
};

export default extension;
