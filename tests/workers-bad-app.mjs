// Application module of tests/workers.test.mjs: exports no start function (a mistake the
// worker start must report with the worker's index).
export const notAFunction = 1;
