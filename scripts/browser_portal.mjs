// The access portal in a real browser (Debian's Chromium, driven by Playwright): a user's
// invitation, password, authenticator app, sign-out and sign-in with a code, their accounts
// and roles, command-line credentials, a device code approved, and the lockout after five
// wrong passwords. Screenshots of each page go to $CAIRN_SCREENSHOTS.
//
// Usage: node browser_portal.mjs ENDPOINT STORE_ID DATA_DIR VERIFICATION_URL
// Env: CAIRN_PLAYWRIGHT (the playwright-core package directory), CAIRN_CHROMIUM (the
// browser), CAIRN_SCREENSHOTS (a directory). Prints one JSON object: what the pages showed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [endpoint, store, dataDir, verificationUrl] = process.argv.slice(2);
const { chromium } = await import(path.join(process.env.CAIRN_PLAYWRIGHT, 'index.mjs'));
const shots = process.env.CAIRN_SCREENSHOTS;
fs.mkdirSync(shots, { recursive: true });
const USER = 'mary.major';
const PASSWORD = 'Corr3ct-Horse!';
const out = { steps: [] };
let n = 0;

async function shot(page, name) {
  n += 1;
  const file = path.join(shots, `${String(n).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  out.steps.push({ name, url: page.url(), title: await page.title(), screenshot: file });
}

function unquote(mail) {
  // Quoted-printable, as the outbox writes mail.
  const joined = mail.replace(/=\r?\n/g, '');
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

function invitationLink() {
  const dir = path.join(dataDir, 'outbox');
  for (const f of fs.readdirSync(dir).sort()) {
    const mail = unquote(fs.readFileSync(path.join(dir, f), 'latin1'));
    if (mail.includes(`To: ${USER}@example.com`) && mail.includes('Invitation')) {
      return mail.match(/(http:\/\/\S+\/setup\?token=\S+)/)[1];
    }
  }
  throw new Error('no invitation in the outbox');
}

function totp(b32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of b32) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', key).update(counter).digest();
  const o = h[19] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const step = () => Math.floor(Date.now() / 30000);

async function signIn(page, password) {
  await page.fill('input[name=username]', USER);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
}

const browser = await chromium.launch({
  executablePath: process.env.CAIRN_CHROMIUM,
  args: ['--no-sandbox'],
});
try {
  // 1. The invitation sets the password.
  let ctx = await browser.newContext();
  let page = await ctx.newPage();
  await page.goto(invitationLink());
  await shot(page, 'set-password');
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=confirm]', PASSWORD);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  out.passwordSet = (await page.textContent('body')).includes('Your password is set');
  await shot(page, 'password-set');

  // 2. The first sign-in registers an authenticator app.
  await page.goto(`${endpoint}/start/${store}`);
  await shot(page, 'sign-in');
  await signIn(page, PASSWORD);
  await shot(page, 'register-mfa');
  const secret = (await page.textContent('#mfa-secret')).trim();
  out.qrShown = await page.isVisible('#mfa-qr');
  const registeredAt = step();
  await page.fill('input[name=code]', totp(secret, registeredAt));
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  await shot(page, 'accounts-after-registration');
  out.signedInAfterRegistration = (await page.textContent('body')).includes(`Signed in as ${USER}`);

  // 3. Sign out; sign in again from another browser: the code is asked for.
  await Promise.all([page.waitForLoadState(), page.click('text=Sign out')]);
  await shot(page, 'signed-out');
  out.signedOut = await page.isVisible('input[name=password]');
  await ctx.close();
  ctx = await browser.newContext();
  page = await ctx.newPage();
  await page.goto(`${endpoint}/start/${store}`);
  await signIn(page, PASSWORD);
  await shot(page, 'mfa-code');
  out.askedForCode = (await page.textContent('body')).includes('Enter the code');
  // A code is good once: the step after the registration's.
  await page.fill('input[name=code]', totp(secret, Math.max(step(), registeredAt) + 1));
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  await shot(page, 'accounts');

  // 4. Exactly her accounts and roles.
  out.accounts = await page.$$eval('section.account .id', (els) => els.map((e) => e.textContent));
  out.roles = await page.$$eval('section.account .role', (els) => els.map((e) => e.textContent));

  // 5. Command-line credentials.
  await Promise.all([
    page.waitForLoadState(),
    page.click('text=Command line or programmatic access'),
  ]);
  await shot(page, 'credentials');
  const env = await page.textContent('#env');
  const grab = (k) => env.match(new RegExp(`export ${k}="([^"]+)"`))[1];
  out.credentials = {
    AccessKeyId: grab('AWS_ACCESS_KEY_ID'),
    SecretAccessKey: grab('AWS_SECRET_ACCESS_KEY'),
    SessionToken: grab('AWS_SESSION_TOKEN'),
  };

  // 6. A device code, approved.
  await page.goto(verificationUrl);
  await shot(page, 'device-approve');
  out.deviceCodeShown = await page.textContent('#user-code');
  await Promise.all([page.waitForLoadState(), page.click('button[value=allow]')]);
  await shot(page, 'device-approved');
  out.deviceApproved = (await page.textContent('body')).includes('Request approved');
  await ctx.close();

  // 7. Five wrong passwords lock the user.
  ctx = await browser.newContext();
  page = await ctx.newPage();
  for (let i = 0; i < 5; i += 1) {
    await page.goto(`${endpoint}/start/${store}`);
    await signIn(page, 'Wr0ng-password!');
  }
  await shot(page, 'locked');
  out.lockedMessage = await page.textContent('p.error');
  await page.goto(`${endpoint}/start/${store}`);
  await signIn(page, PASSWORD);
  out.lockedEvenWithThePassword = (await page.textContent('p.error')).includes('locked');
  await ctx.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
