// Package browsertest holds the web UI's browser tests: real headless
// Chromium (driven by chromedp over the DevTools protocol) against a real
// Modelkeep started in-process on each backend (SQLite and files; MySQL and
// S3 when the MODELKEEP_TEST_* variables name them), with data seeded
// through the API.
//
// The tests walk what people do with the UI (a compliance officer follows a
// version's lineage and exports its audit trail, a second approver approves
// what the first requested, each role sees only what it may do), check the
// session's security (HttpOnly, SameSite=Strict cookie, CSRF token, the
// Content Security Policy, which no page may violate) and run axe-core on
// every page they visit, failing on serious or critical accessibility
// violations. They write full-page screenshots of the pages to
// test-output/screenshots/ at the repository's root.
//
// They need Chromium (MODELKEEP_TEST_CHROMIUM, else
// /usr/bin/chromium-headless-shell or /usr/bin/chromium) and
// axe-core from webui/node_modules (`npm ci` in webui); without them they
// skip, unless MODELKEEP_TEST_CHROMIUM is set, as the test command does.
// Only test files live here besides this one.
package browsertest
