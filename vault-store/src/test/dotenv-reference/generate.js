const fs = require("fs");
const dotenv = require("dotenv");
// one form a line; the two characters \n and \r in forms.txt stand for LF and CR only where a
// form needs a real line break in one line (multi-line forms are written over several lines there)
const text = fs.readFileSync(__dirname + "/forms.txt", "utf8");
const forms = [];
let cur = null;
for (const line of text.split("\n")) {
  if (cur !== null) { cur += "\n" + line; if (/["']$/.test(line)) { forms.push(cur); cur = null; } continue; }
  if (line === "") continue;
  if (/^A=["'][^"']*$/.test(line)) { cur = line; continue; }
  forms.push(line.replace(/\\r\\n(?=[A-Z]=)/g, "\r\n").replace(/\\n(?=[A-Z]=)/g, "\n"));
}
const out = ["# npm dotenv " + require("dotenv/package.json").version + ": form (base64) <TAB> NAME=value (base64), ...; made by generate.js"];
for (const f of forms) {
  const parsed = dotenv.parse(Buffer.from(f + "\n", "utf8"));
  const pairs = Object.entries(parsed).map(([k, v]) => k + "=" + Buffer.from(v, "utf8").toString("base64"));
  out.push(Buffer.from(f + "\n", "utf8").toString("base64") + "\t" + pairs.join(","));
}
process.stdout.write(out.join("\n") + "\n");
