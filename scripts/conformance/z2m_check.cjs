// Zigbee2MQTT's own settings validation, made strict about unknown keys.
//
// 1. Zigbee2MQTT's settings.validate() on DATA_DIR/configuration.yaml (its ajv schema plus its own
//    checks: network key and PAN id values, friendly names, MQTT options).
// 2. The same shipped schema (dist/util/settings.schema.json) with unknown keys rejected:
//    `additionalProperties: false` on every object that lists `properties` and says nothing about
//    other keys (the upstream schema never does, so `serail:` or `mqtt.sever` pass step 1).
//
// usage: NODE_PATH=<cache>/z2m/node_modules node z2m_check.cjs DATA_DIR
const fs = require('node:fs');
const path = require('node:path');
const dataDir = path.resolve(process.argv[2]);
process.env.ZIGBEE2MQTT_DATA = dataDir; // read by the settings module when it loads
const settings = require('zigbee2mqtt/dist/util/settings');
const yaml = require('js-yaml');
const Ajv = require('ajv');
const version = require('zigbee2mqtt/package.json').version;

function closeObjects(node) {
  if (Array.isArray(node)) return node.forEach(closeObjects);
  if (!node || typeof node !== 'object') return;
  if (node.properties && node.additionalProperties === undefined && !node.patternProperties) {
    node.additionalProperties = false;
  }
  Object.values(node).forEach(closeObjects);
}

const problems = [];
try {
  for (const e of settings.validate()) problems.push(`settings.validate(): ${e}`);
} catch (e) {
  problems.push(`settings.validate() threw: ${e.message}`);
}
const schema = structuredClone(require('zigbee2mqtt/dist/util/settings.schema.json'));
closeObjects(schema);
// `version` is the settings format version Zigbee2MQTT migrates on start; the schema omits it.
schema.properties.version = { type: 'number', minimum: 5 };
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addKeyword('requiresRestart');
const validate = ajv.compile(schema);
const doc = yaml.load(fs.readFileSync(path.join(dataDir, 'configuration.yaml'), 'utf8'));
if (!validate(doc)) {
  for (const e of validate.errors) {
    const extra = e.params.additionalProperty ? `: '${e.params.additionalProperty}'`
      : e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
    problems.push(`strict schema: ${e.instancePath || '/'} ${e.message}${extra}`);
  }
}
for (const p of problems) console.log(p);
console.log(`zigbee2mqtt ${version}: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
