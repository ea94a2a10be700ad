// Azurite with its blob lookups served by the index on `name` (benchmarks of large projects only).
//
// Azurite finds a blob with a Loki query whose first property is the account, and Loki uses an index
// for the first property only: every upload scans all the account's blobs, so an account slows as it
// fills (hours for the 2 x 100,000 documents of figure 3). Putting an exact `name` first makes Loki
// use its index on name. The query means the same (an AND of equalities); only the index differs.
"use strict";
const path = require("path");

const modules = path.resolve(__dirname, "..", "node_modules");
const loki = require(path.join(modules, "lokijs"));
const find = loki.Resultset.prototype.find;
loki.Resultset.prototype.find = function (query, firstOnly) {
  if (query && typeof query === "object" && typeof query.name === "string" && "accountName" in query) {
    query = Object.assign({ name: query.name }, query);
  }
  return find.call(this, query, firstOnly);
};
require(path.join(modules, "azurite", "dist", "src", "azurite.js"));
