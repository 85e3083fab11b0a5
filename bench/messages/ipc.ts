// What the bench's processes say to each other, and the report it writes: types only, for the
// JSDoc of bench/*.js (which stay plain JavaScript that Node runs as it is; `tsc -p .` checks
// them against these). Nothing imports these files at run time.
//
// bench/run.js forks three kinds of helper and talks to each over IPC, a request and the reply
// it waits for, matched by `cmd`:
//   app.js <mode> <options JSON> [settle ms]   the app under test           (bench/messages/app.ts)
//   load.js                                    HTTP load on the app (its clock, load-clock.js, a worker thread)
//                                                                            (bench/messages/load.ts)
//   sessions.js                                REPL clients of the app      (bench/messages/sessions.ts)
// and the stall bench (bench/stalls.js) forks its own app:
//   stall-app.js <dist> <mode> <options JSON>  an app that watches its main thread (bench/messages/stalls.ts)
// It writes the report as JSON (`--json`, bench/messages/report.ts), from which bench/chart.js
// draws the SVG.

/** Any message over IPC: the other side tells them apart by `cmd`. */
export interface Message {
  cmd: string;
}
