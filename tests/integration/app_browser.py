#!/usr/bin/env python3
"""Why: the register test plays the person in the browser, independently of the C code: read the
form register serves, "create" the App on GitHub (the simulator's stand-in for github.com's page
takes the form's manifest and state and answers the redirect GitHub would send), and follow the
redirect. Each subcommand prints JSON for the shell test to assert on.

  app_browser.py form URL                      -> {"action", "state", "manifest", "page"}
  app_browser.py create SIM_PORT FORM.json [OWNER] [STATE] [TTL]
                                               -> {"code", "app_id", "location"}
  app_browser.py get URL                       -> {"status", "body"}
"""
import html
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def form(url):
    status, page = get(url)
    forms = re.findall(r'<form action="([^"]*)" method="post">', page)
    fields = re.findall(r'<input type="hidden" name="manifest" value="([^"]*)">', page)
    if status != 200 or len(forms) != 1 or len(fields) != 1:
        return {"status": status, "page": page}
    action = html.unescape(forms[0])
    query = urllib.parse.parse_qs(urllib.parse.urlparse(action).query)
    return {"status": status, "action": action, "state": query.get("state", [""])[0],
            "manifest": json.loads(html.unescape(fields[0])), "page": page}


def create(sim_port, form_file, owner=None, state=None, ttl=None):
    f = json.load(open(form_file))
    body = {"manifest": f["manifest"], "state": state if state is not None else f["state"]}
    if owner:
        body["owner"] = owner
    if ttl is not None:
        body["code_ttl_s"] = int(ttl)
    req = urllib.request.Request(f"http://127.0.0.1:{sim_port}/_sim/manifests",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "form":
        out = form(args[0])
    elif cmd == "create":
        out = create(*args)
    elif cmd == "get":
        status, body = get(args[0])
        out = {"status": status, "body": body}
    else:
        sys.exit("unknown command " + cmd)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
