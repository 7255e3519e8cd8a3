// Applies the page edits the worker decided (src/app/page.rs `Edit`) to the
// static page with the runtime's own HTMLRewriter (lol-html inside workerd),
// so that the page streams out filled in and the wasm module carries no HTML
// parser. Text and attribute values are escaped by the rewriter; "html"
// values were escaped by the worker (html-escape).
//
// `assets` is the ASSETS binding; the page is its answer for `url`. An
// answer other than 200 resolves with a string saying so.
export async function fillPage(assets, url, editsJson, status) {
  const page = await assets.fetch(url);
  if (page.status !== 200) return `ASSETS answered ${page.status} for /`;
  const edits = JSON.parse(editsJson);
  const byId = new Map();
  for (const edit of edits) {
    if (!byId.has(edit.id)) byId.set(edit.id, []);
    byId.get(edit.id).push(edit);
  }
  let rewriter = new HTMLRewriter();
  for (const [id, list] of byId) {
    rewriter = rewriter.on(`#${id}`, {
      element(el) {
        for (const e of list) {
          switch (e.op) {
            case "text": el.setInnerContent(e.value); break;
            case "html": el.setInnerContent(e.value, { html: true }); break;
            case "show": el.removeAttribute("hidden"); break;
            case "hide": el.setAttribute("hidden", ""); break;
            case "attr": el.setAttribute(e.name, e.value); break;
            case "class": el.setAttribute("class", `${el.getAttribute("class") ?? ""} ${e.value}`.trim()); break;
          }
        }
      },
    });
  }
  // A new answer of our own: the asset's headers (ETag, caching) do not
  // apply to a page filled in for one visitor.
  return new Response(rewriter.transform(page).body, { status });
}
