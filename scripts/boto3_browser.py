"""The access portal in a real browser: Debian's Chromium driven by Playwright
(scripts/browser_portal.mjs), against a real `cairn serve`.

Usage: boto3_browser.py ENDPOINT ROOT_CREDENTIALS_JSON [SIGNUP_COMMAND...]
       (env: CAIRN_PLAYWRIGHT, CAIRN_CHROMIUM, CAIRN_SCREENSHOTS)

The administrator's set-up with boto3 (sso_portal_setup.py); a device authorization started
with boto3's sso-oidc client; then the browser: the user receives the invitation (outbox),
sets a password, registers an authenticator app (codes computed from the key the page shows),
signs out, signs in with a code, sees exactly her account and role, copies command-line
credentials, approves the device code, and five wrong passwords lock her out. Back here:
the copied credentials work with boto3, and the approved device code gives a token.
Prints "N passed, N failed".
"""
import json
import os
import subprocess
import sys
import time

import boto3

from sso_portal_setup import Checks, cfg, setup

endpoint, creds_path = sys.argv[1], sys.argv[2]
data_dir = os.path.dirname(os.path.abspath(creds_path))
creds = json.load(open(creds_path))
checks = Checks()
check = checks.check
member, store, uid = setup(endpoint, creds)

oidc = boto3.client("sso-oidc", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
reg = oidc.register_client(clientName="browser-test-cli", clientType="public")
dev = oidc.start_device_authorization(
    clientId=reg["clientId"], clientSecret=reg["clientSecret"],
    startUrl=f"https://{store}.awsapps.com/start")
here = os.path.dirname(os.path.abspath(__file__))
run = subprocess.run(
    ["node", os.path.join(here, "browser_portal.mjs"), endpoint, store, data_dir,
     dev["verificationUriComplete"]],
    capture_output=True, text=True, timeout=300)
if run.returncode != 0:
    print(run.stdout)
    print(run.stderr, file=sys.stderr)
    check("the browser session ran", False, run.stderr[-2000:])
    sys.exit(checks.summary())
seen = json.loads(run.stdout.strip().splitlines()[-1])
check("the invitation's link sets the password", seen["passwordSet"], seen)
check("the first sign-in registers an authenticator app, QR code shown", seen["qrShown"], seen)
check("signed in after registering", seen["signedInAfterRegistration"], seen)
check("sign-out shows the sign-in page", seen["signedOut"], seen)
check("a new browser is asked for the code", seen["askedForCode"], seen)
check("exactly her account", seen["accounts"] == [member], seen["accounts"])
check("exactly her role", seen["roles"] == ["ReadOnly"], seen["roles"])
c = seen["credentials"]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", config=cfg,
                   aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                   aws_session_token=c["SessionToken"])
arn = sts.get_caller_identity()["Arn"]
check("the copied credentials work with boto3",
      arn.startswith(f"arn:aws:sts::{member}:assumed-role/AWSReservedSSO_ReadOnly_")
      and arn.endswith("/mary.major"), arn)
check("the device page shows the code", seen["deviceCodeShown"] == dev["userCode"], seen)
check("the device code is approved", seen["deviceApproved"], seen)
time.sleep(1.1)
token = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                          grantType="urn:ietf:params:oauth:grant-type:device_code",
                          deviceCode=dev["deviceCode"])
check("the approved device code gives a token", token["accessToken"].startswith("aoa"), token)
check("five wrong passwords lock the user", "locked" in (seen["lockedMessage"] or ""), seen)
check("locked even with the right password", seen["lockedEvenWithThePassword"], seen)
print("screenshots:")
for s in seen["steps"]:
    print(f"  {s['screenshot']}  ({s['title']})")
sys.exit(checks.summary())
