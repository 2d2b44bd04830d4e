"""`aws sso login` with the real AWS CLI v2 against Cairn: one sign-in to every account.

Usage: boto3_sso_login.py ENDPOINT ROOT_CREDENTIALS_JSON [SIGNUP_COMMAND...]
       (the AWS CLI v2 binary in $CAIRN_AWS_CLI2)

Set-up with boto3 as an administrator would: an organization with a member account,
Identity Center, a user with an email (whose invitation, from the outbox, sets her password),
a ReadOnly permission set assigned to her in the member account, an SCP on the member account
that denies iam:ListRoles. Then, as the user, with an `sso-session` profile pointing at the
instance's start URL:

- `aws sso login --no-browser` (authorization code with PKCE): the browser's part — the
  /authorize page, sign-in, consent, the redirect to the CLI's loopback listener — is done
  here with HTTP requests exactly as a browser sends them;
- `aws sts get-caller-identity` answers the AWSReservedSSO_ReadOnly_… assumed-role ARN;
  `aws organizations describe-organization` works; a write is denied with AWS's message;
  the SCP denies what it names;
- `aws sso logout` ends the session: the old token no longer works;
- `aws sso login --use-device-code --no-browser`: the device page approves the code.

Prints "N passed, N failed".
"""
import base64
import email
import email.policy
import hashlib
import hmac
import struct
import glob
import html
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import boto3
import botocore.exceptions

from sso_portal_setup import PASSWORD, Checks, cfg, setup, wait

endpoint, creds_path = sys.argv[1], sys.argv[2]
data_dir = os.path.dirname(os.path.abspath(creds_path))
aws = os.environ["CAIRN_AWS_CLI2"]
creds = json.load(open(creds_path))
checks = Checks()
check = checks.check
member, store, uid = setup(endpoint, creds)


# ------------------------------------------------------------------ a browser
class Browser:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, url, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, headers={"User-Agent": "Mozilla/5.0 (cairn ci)"})
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.geturl(), r.read().decode()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{url} answered {e.code}: {e.read().decode()[:2000]}")


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    if not m:
        raise AssertionError(f"no {name} in {page[:2000]}")
    return html.unescape(m.group(1))


def totp(b32, step):
    """RFC 6238's code, as an authenticator app computes it."""
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    h = hmac.new(key, struct.pack(">q", step), hashlib.sha1).digest()
    o = h[19] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


mfa = {}


def sign_in_if_asked(b, url, page):
    """On a sign-in page, signs in — registering an authenticator app at the first sign-in
    (the instance's default: MFA, context-aware, registration required), giving its code
    later; answers the page after it."""
    if 'name="password"' not in page:
        return url, page
    action = urllib.parse.urljoin(url, f"/start/{store}/signin")
    url, page = b.open(action, {"csrf": hidden(page, "csrf"), "next": hidden(page, "next"),
                                "username": "mary.major", "password": PASSWORD})
    if 'name="code"' not in page:
        return url, page
    m = re.search(r'id="mfa-secret">([A-Z2-7]+)<', page)
    if m:
        check("the first sign-in registers an authenticator app (QR code shown)",
              'src="data:image/png;base64,' in page, page[:500])
        mfa["secret"] = m.group(1)
        step = int(time.time()) // 30
    else:
        check("a new browser is asked for the authenticator code",
              "Enter the code" in page, page[:500])
        # The step after the one used at registration (a code is good once).
        step = int(time.time()) // 30 + 1
    return b.open(urllib.parse.urljoin(url, f"/start/{store}/mfa"),
                  {"csrf": hidden(page, "csrf"), "code": totp(mfa["secret"], step)})


def outbox_mail(subject):
    def find():
        for path in sorted(glob.glob(os.path.join(data_dir, "outbox", "*.eml"))):
            msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
            if msg["To"] == "mary.major@example.com" and subject in msg["Subject"]:
                return msg.get_content()
        return None
    return wait(f"the mail '{subject}'", find)


# The invitation sets her password.
invite = outbox_mail("Invitation")
link = re.search(r"(http://\S+/setup\?token=\S+)", invite).group(1)
b = Browser()
url, page = b.open(link)
url, page = b.open(urllib.parse.urljoin(url, f"/start/{store}/setup"), {
    "csrf": hidden(page, "csrf"), "token": hidden(page, "token"),
    "password": PASSWORD, "confirm": PASSWORD})
check("the invitation's link sets the password", "Your password is set" in page, page[:500])

# ------------------------------------------------------------------ the user's part
# The start URL as AWS writes it (the CLI accepts only an https URL of an AWS-owned domain,
# and sends it to sso-oidc, which names the instance by it); the browser's pages are at
# {endpoint}/start/{store}.
start_url = f"https://{store}.awsapps.com/start"
home = tempfile.mkdtemp()
config_file = os.path.join(home, "config")
with open(config_file, "w") as f:
    f.write(f"""[profile readonly]
sso_session = cairn
sso_account_id = {member}
sso_role_name = ReadOnly
region = us-east-1
output = json

[sso-session cairn]
sso_start_url = {start_url}
sso_region = us-east-1
sso_registration_scopes = sso:account:access
""")
env = {
    "PATH": os.environ["PATH"],
    "HOME": home,
    "AWS_CONFIG_FILE": config_file,
    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
    "AWS_ENDPOINT_URL": endpoint,
    "AWS_PAGER": "",
}


def cli(*args):
    return subprocess.run([aws, *args], env=env, capture_output=True, text=True, timeout=120)


def login(*flags, browser_step):
    """Runs `aws sso login` with flags, does the browser's part on the URL it prints."""
    proc = subprocess.Popen([aws, "sso", "login", "--profile", "readonly", "--no-browser", *flags],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = []
    url = None
    deadline = time.time() + 60
    while url is None and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line)
        m = re.search(r"(http://\S*(?:/authorize\?|user_code=)\S*)", line)
        if m:
            url = m.group(1)
    if url is None:
        proc.kill()
        raise AssertionError("aws sso login printed no URL: " + "".join(printed))
    browser_step(url)
    out, _ = proc.communicate(timeout=60)
    printed.append(out)
    return proc.returncode, "".join(printed)


def pkce_browser(url):
    b = Browser()
    u, page = b.open(url)
    u, page = sign_in_if_asked(b, u, page)
    form = {k: hidden(page, k) for k in ("csrf", "client_id", "redirect_uri", "state",
                                          "code_challenge", "code_challenge_method", "scopes")}
    form["decision"] = "allow"
    # The redirect lands on the CLI's loopback listener, which completes the login.
    b.open(urllib.parse.urljoin(u, "/authorize"), form)


rc, out = login(browser_step=pkce_browser)
check("aws sso login (authorization code with PKCE)", rc == 0 and "Successfully logged into" in out, out)
r = cli("sts", "get-caller-identity", "--profile", "readonly")
arn = json.loads(r.stdout)["Arn"] if r.returncode == 0 else r.stderr
check("get-caller-identity is the AWSReservedSSO role session",
      re.fullmatch(rf"arn:aws:sts::{member}:assumed-role/AWSReservedSSO_ReadOnly_[0-9a-f]{{16}}/mary\.major", arn or ""), arn)
r = cli("organizations", "describe-organization", "--profile", "readonly")
check("describe-organization works under ReadOnly", r.returncode == 0 and "MasterAccountId" in r.stdout, r.stderr)
r = cli("iam", "create-user", "--user-name", "mallory", "--profile", "readonly")
check("a write is denied with AWS's message",
      r.returncode != 0 and "AccessDenied" in r.stderr
      and "is not authorized to perform: iam:CreateUser" in r.stderr
      and "because no identity-based policy allows the iam:CreateUser action" in r.stderr, r.stderr)
r = cli("iam", "list-roles", "--profile", "readonly")
check("the member account's SCP denies what it names",
      r.returncode != 0 and "with an explicit deny in a service control policy" in r.stderr, r.stderr)
token_files = glob.glob(os.path.join(home, ".aws", "sso", "cache", "*.json"))
tokens = [json.load(open(p)) for p in token_files]
access = next((t["accessToken"] for t in tokens if "accessToken" in t), None)
check("the CLI cached an access token and a refresh token",
      access is not None and any("refreshToken" in t for t in tokens), tokens)
r = cli("sso", "logout", "--profile", "readonly")
check("aws sso logout", r.returncode == 0, r.stderr)
portal = boto3.client("sso", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
try:
    portal.list_accounts(accessToken=access)
    check("the logged-out token no longer works", False, "ListAccounts answered")
except botocore.exceptions.ClientError as e:
    check("the logged-out token no longer works",
          e.response["Error"]["Code"] == "UnauthorizedException", e.response)
r = cli("sts", "get-caller-identity", "--profile", "readonly")
check("after logout the profile needs a new login", r.returncode != 0, r.stdout)


def device_browser(url):
    b = Browser()
    u, page = b.open(url)
    u, page = sign_in_if_asked(b, u, page)
    code = hidden(page, "user_code")
    check("the device page shows the code the CLI printed", code in url, (code, url))
    u, page = b.open(urllib.parse.urljoin(u, "/device"),
                     {"csrf": hidden(page, "csrf"), "user_code": code, "decision": "allow"})
    check("the device page approves", "Request approved" in page, page[:500])


rc, out = login("--use-device-code", browser_step=device_browser)
check("aws sso login --use-device-code", rc == 0 and "Successfully logged into" in out, out)
r = cli("sts", "get-caller-identity", "--profile", "readonly")
check("get-caller-identity after the device flow", r.returncode == 0 and member in r.stdout, r.stderr)

sys.exit(checks.summary())
