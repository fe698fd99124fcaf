// Prints docs/models.md from the model catalogue (src/catalogue/vendors/):
//   npx tsx scripts/models-doc.ts > docs/models.md
import { Catalogue } from "../src/catalogue/catalogue.js";
import { renderModelsDoc } from "../src/catalogue/models-doc.js";

process.stdout.write(renderModelsDoc(Catalogue.shipped()));
