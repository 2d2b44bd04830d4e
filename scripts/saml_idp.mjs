// A SAML 2.0 identity provider for the tests, made with samlify (npm): signs AWS-shaped
// login responses exactly as a real IdP built on samlify would.
//
//   node scripts/saml_idp.mjs <work dir> '<request JSON>'
//
// Request: { key: "idp" (the key pair to sign with, made in <work dir> with openssl on
// first use), entityId, nameId, nameIdFormat, attributes: { Name: [values] },
// validSeconds (NotOnOrAfter from now; negative for an expired assertion),
// audience, recipient, signAssertion (default true), signResponse (default false) }.
// Prints { metadata: the IdP's metadata XML, response: the base64 SAMLResponse }.
// NODE_PATH must reach samlify (scripts/saml-idp-install.sh installs it).
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const saml = require('samlify');

const [workDir, requestJson] = process.argv.slice(2);
const req = JSON.parse(requestJson);
const keyName = req.key || 'idp';
const keyFile = join(workDir, `${keyName}.key`);
const certFile = join(workDir, `${keyName}.crt`);
if (!existsSync(keyFile)) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256',
    '-days', '2', '-subj', `/CN=cairn-test-${keyName}`, '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' });
}

// Responses are only generated here, never parsed: no schema validation is needed.
saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;')
  .replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const idp = saml.IdentityProvider({
  entityID: req.entityId,
  privateKey: readFileSync(keyFile),
  signingCert: readFileSync(certFile),
  nameIDFormat: [req.nameIdFormat || 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
  singleSignOnService: [{
    Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
    Location: 'https://idp.example.com/sso',
  }],
  requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
});
const sp = saml.ServiceProvider({
  entityID: req.audience || 'urn:amazon:webservices',
  assertionConsumerService: [{
    Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
    Location: req.recipient || 'https://signin.aws.amazon.com/saml',
  }],
  wantAssertionsSigned: req.signAssertion !== false,
  wantMessageSigned: req.signResponse === true,
});

const attributeStatement = '<saml:AttributeStatement>' + Object.entries(req.attributes || {})
  .map(([name, values]) => `<saml:Attribute Name="${escape(name)}">` + values
    .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escape(v)}</saml:AttributeValue>`)
    .join('') + '</saml:Attribute>')
  .join('') + '</saml:AttributeStatement>';

const now = new Date();
const later = new Date(now.getTime() + (req.validSeconds ?? 300) * 1000);
const notBefore = new Date(Math.min(now.getTime(), later.getTime() - 60_000));
const { context } = await idp.createLoginResponse(sp, null, 'post', {}, (template) => {
  const id = idp.entitySetting.generateID();
  const values = {
    ID: id,
    AssertionID: idp.entitySetting.generateID(),
    Destination: req.recipient || 'https://signin.aws.amazon.com/saml',
    Audience: req.audience || 'urn:amazon:webservices',
    SubjectRecipient: req.recipient || 'https://signin.aws.amazon.com/saml',
    Issuer: req.entityId,
    IssueInstant: notBefore.toISOString(),
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: notBefore.toISOString(),
    ConditionsNotOnOrAfter: later.toISOString(),
    SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
    NameIDFormat: req.nameIdFormat || 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    NameID: req.nameId,
    InResponseTo: '',
  };
  // samlify escapes tag values; the statements are XML, put in first.
  const authn = `<saml:AuthnStatement AuthnInstant="${notBefore.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
  const withStatements = template.replace('{AuthnStatement}', authn)
    .replace('{AttributeStatement}', attributeStatement);
  return { id, context: saml.SamlLib.replaceTagsByValue(withStatements, values) };
});
process.stdout.write(JSON.stringify({ metadata: idp.getMetadata(), response: context }));
