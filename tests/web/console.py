"""The web console in a real browser (Debian's headless Chromium through Selenium), against
the real tesserad holding the sample organisation.

  (a) the page and the API carry the security headers (CSP default-src 'self', no framing,
      nosniff, no referrer); without a session every call is 401 and the page shows the
      sign-in form;
  (b) an agent signs in by pasting a token: the cookie is HttpOnly and SameSite=Strict,
      and a call with the cookie but without the CSRF token is refused;
  (c) the main flow: the French message with customer @CamilleRoussel_ puts Isabelle
      Laurent first, with her account-manager reason and evidence; the customer's
      history lists her WhatsApp case and who handled it; handing over to the second
      person raises their open-case load by one, and Undo takes it back;
  (d) the English message without a customer gives card experts with highlighted matches;
  (e) hostile text in a case (a script tag, an img with onerror, a javascript: link)
      renders as text: no script runs, no element is injected, the browser log is clean;
  (f) sign-out ends the session on the server: the old cookie and CSRF token get 401;
  (g) a reader sees no customer: FindExperts is refused, search leaves customers out, and
      a customer's profile URL typed by hand reads as not found;
  (h) the main screen, a profile, search, sign-in and (as an admin) the sources are
      saved as screenshots in English and French (--screenshots DIR).

Run by run_console_test.sh. Exit status 0 when every case passed, 1 when one failed,
2 on bad arguments or when the browser cannot start.
"""

import argparse
import http.client
import json
import os
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scim"))

import sample  # noqa: E402
from sample import load  # noqa: E402
from scimlib import CheckFailed, Tally, UsageError, add_common_args, require  # noqa: E402

FRENCH = "Ma carte a été bloquée à l'étranger, je ne peux plus payer"
ENGLISH = "My card was blocked abroad and I cannot pay"
HOSTILE_WORD = "zanzibarquux"

HOSTILE_CASE = {
    "source": "helpdesk", "external_id": "HD-EVIL-1", "version": 1, "kind": "case",
    "updated_at": "2026-11-02T10:00:00Z",
    "attributes": {"title": "<script>window.__pwned=1</script> " + HOSTILE_WORD, "status": "closed",
                   "channel": "email"},
    "identifiers": ["case:HD-EVIL-1"],
    "relations": [{"type": "resolved_by", "target": "employee_id:E1029"}],
    "evidence": [{"kind": "case", "role": "resolved_by",
                  "title": "<script>window.__pwned=1</script> " + HOSTILE_WORD,
                  "text": HOSTILE_WORD + " <img src=x onerror=\"window.__pwned=2\"> and "
                          "<a href=\"javascript:window.__pwned=3\">click " + HOSTILE_WORD + "</a> "
                          "<iframe src=\"javascript:alert(1)\"></iframe> " + HOSTILE_WORD}],
}


class Http:
    def __init__(self, base, timeout):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout

    def send(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.msg, r.read()
        finally:
            conn.close()

    def api(self, path, body, cookie=None, csrf=None, token=None):
        headers = {"Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = "tessera_session=" + cookie
        if csrf:
            headers["X-CSRF-Token"] = csrf
        if token:
            headers["Authorization"] = "Bearer " + token
        status, msg, data = self.send("POST", "/api/v1/" + path, json.dumps(body).encode(), headers)
        try:
            return status, msg, json.loads(data.decode() or "{}")
        except ValueError:
            return status, msg, {}


class Env:
    def __init__(self, args, http_base):
        self.args = args
        self.base = http_base
        self.http = Http(http_base, args.timeout)
        self.driver = None
        self.shots = args.screenshots

    def browser(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = self.args.chromium
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1280,1000", "--lang=en-GB", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-default-apps", "--user-data-dir=" + tempfile.mkdtemp()):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        opts.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
        try:
            return webdriver.Chrome(service=Service(self.args.chromedriver), options=opts)
        except Exception as e:  # the browser is part of the environment
            raise UsageError("cannot start headless Chromium through %s: %s"
                             % (self.args.chromedriver, str(e).splitlines()[0]))

    # --- page helpers ---
    def wait(self, condition, what, seconds=None):
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, seconds or self.args.timeout).until(condition)
        except Exception:
            raise CheckFailed("waited %gs for %s; the status line says %r"
                              % (seconds or self.args.timeout, what, self.text("#status")))

    def text(self, css):
        """The element's whole text (textContent: hidden parts included, so a check that
        something is absent cannot be fooled by it being merely hidden)."""
        from selenium.webdriver.common.by import By
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return self.driver.execute_script("return arguments[0].textContent", found[0]) if found else ""

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def open(self, fragment=""):
        self.driver.get(self.base + "/console/" + fragment)

    def sign_in(self, token):
        self.open("#/signin")
        self.wait(lambda d: self.find("#view-signin").is_displayed(), "the sign-in form")
        box = self.find("#token")
        box.clear()
        box.send_keys(token)
        self.find("#signin-form button[type=submit]").click()
        self.wait(lambda d: self.find("#view-find").is_displayed(), "the main screen after signing in")

    def cookie(self):
        c = self.driver.get_cookie("tessera_session")
        return c

    def csrf(self):
        return self.driver.execute_script(
            "return fetch('/api/v1/session', {credentials: 'same-origin'}).then(r => r.json())"
            ".then(j => j.csrfToken)")

    def search_experts(self, text, customer=""):
        from selenium.webdriver.support.ui import Select
        self.open("#/")
        self.wait(lambda d: self.find("#view-find").is_displayed(), "the main screen")
        box = self.find("#message")
        box.clear()
        box.send_keys(text)
        c = self.find("#customer")
        c.clear()
        if customer:
            c.send_keys(customer)
            Select(self.find("#channel")).select_by_value("twitter")
        self.driver.execute_script("document.getElementById('results').textContent = ''")
        self.find("#find-form button[type=submit]").click()
        self.wait(lambda d: self.all("#results > li") or "Nobody" in self.text("#status"),
                  "results for %r" % text)
        return self.all("#results > li")

    def screenshot(self, name):
        if self.shots:
            os.makedirs(self.shots, exist_ok=True)
            self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))

    def browser_errors(self):
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]


def header(msg, name):
    return msg.get(name) or ""


def a_headers_and_no_session(env):
    problems = []
    status, msg, _ = env.http.send("GET", "/console/")
    csp = header(msg, "Content-Security-Policy")
    if status != 200 or "default-src 'self'" not in csp or "frame-ancestors 'none'" not in csp \
            or "unsafe-inline" in csp:
        problems.append("GET /console/: %d, CSP %r" % (status, csp))
    for name, want in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")):
        if header(msg, name) != want:
            problems.append("GET /console/: %s is %r" % (name, header(msg, name)))
    status, msg, body = env.http.api("Directory/SearchPeople", {"prefix": "isa"})
    if status != 401 or body.get("code") != "UNAUTHENTICATED":
        problems.append("an API call without a session: %d %s" % (status, body))
    status, msg, body = env.http.api("Directory/SearchPeople", {"prefix": "isa"}, cookie="f" * 64,
                                     csrf="x")
    if status != 401:
        problems.append("an API call with a made-up session: %d %s" % (status, body))
    env.open("#/")
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form for a new visitor")
    if env.find("#view-find").is_displayed():
        problems.append("the main screen shows without a session")
    if problems:
        raise CheckFailed("; ".join(problems))


def b_sign_in(env):
    env.sign_in(env.args.agent_token)
    c = env.cookie()
    if not c or not c.get("httpOnly") or c.get("sameSite") != "Strict":
        raise CheckFailed("the session cookie is %r; expected HttpOnly and SameSite=Strict" % c)
    if env.driver.execute_script("return document.cookie").find("tessera_session") >= 0:
        raise CheckFailed("the page's script can read the session cookie")
    status, _, body = env.http.api("Directory/SearchPeople", {"prefix": "isa"}, cookie=c["value"])
    if status != 403 or "X-CSRF-Token" not in body.get("message", ""):
        raise CheckFailed("a call with the cookie and no CSRF token: %d %s" % (status, body))
    status, _, body = env.http.api("Directory/SearchPeople", {"prefix": "isa"}, cookie=c["value"],
                                   csrf=env.csrf())
    if status != 200 or not body.get("people"):
        raise CheckFailed("a call with the cookie and the CSRF token: %d %s" % (status, body))


def c_main_flow(env):
    items = env.search_experts(FRENCH, "@CamilleRoussel_")
    if len(items) < 2:
        raise CheckFailed("%d results for the French message" % len(items))
    first = items[0].text
    name = items[0].find_element("css selector", "h3").text
    if name != "Isabelle Laurent" or "account manager of Camille Roussel" not in first:
        raise CheckFailed("the first result is %r; expected Isabelle Laurent as account manager"
                          % first[:300])
    items[0].find_element("css selector", "button[aria-controls]").click()
    env.wait(lambda d: env.all("#results > li:first-child .evidence li"), "Isabelle's evidence")
    env.wait(lambda d: "Camille Roussel" in env.text("#history-body"), "Camille's history")
    env.wait(lambda d: "premier" in env.text("#history-body"), "Camille's segment (premier)")
    env.wait(lambda d: "tel:" in (env.driver.execute_script(
        "const a = document.querySelector('#results > li:first-child .contact a[href^=\"tel:\"]');"
        "return a ? a.getAttribute('href') : ''") or ""), "Isabelle's phone number in her contact")
    hist = env.text("#history-body")
    if "whatsapp" not in hist.lower() or "handled by" not in hist.lower():
        raise CheckFailed("the history does not list a WhatsApp case and who handled it: %r"
                          % hist[:500])
    env.screenshot("main-en")
    second = items[1]
    name = second.find_element("css selector", "h3").text
    load = int(second.find_element("css selector", ".load").get_attribute("data-load"))
    buttons = second.find_elements("css selector", "button[data-handover]")
    if not buttons:
        raise CheckFailed("no hand-over button for %s" % name)
    buttons[0].click()
    env.wait(lambda d: name in env.text("#status") and "Handed over" in env.text("#status"),
             "the hand-over's confirmation")
    after = None
    for li in env.all("#results > li"):
        if li.find_element("css selector", "h3").text == name:
            after = int(li.find_element("css selector", ".load").get_attribute("data-load"))
    if after != load + 1:
        raise CheckFailed("%s's open cases went %d -> %s after the hand-over" % (name, load, after))
    # Undo, within its delay: the case is withdrawn and the load goes back.
    env.find("#undo").click()
    env.wait(lambda d: "undone" in env.text("#status"), "the undo's confirmation")
    back = [int(li.find_element("css selector", ".load").get_attribute("data-load"))
            for li in env.all("#results > li") if li.find_element("css selector", "h3").text == name]
    if back != [load]:
        raise CheckFailed("%s's open cases are %s after the undo, expected %d" % (name, back, load))


def d_english(env):
    items = env.search_experts(ENGLISH)
    if not items:
        raise CheckFailed("no result for the English message")
    items[0].find_element("css selector", "button[aria-controls]").click()
    env.wait(lambda d: env.all("#results > li:first-child .evidence mark"),
             "highlighted words in the first expert's evidence")
    marks = [m.text.lower() for m in env.all("#results > li:first-child .evidence mark")]
    if not any(w.startswith(("card", "block", "abroad", "pay", "carte")) for w in marks):
        raise CheckFailed("the highlighted words are %s" % marks)


def e_hostile(env):
    path = os.path.join(tempfile.mkdtemp(), "evil.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps(HOSTILE_CASE) + "\n")
    load([path], env.args)
    env.driver.get_log("browser")  # drop what came before
    items = env.search_experts(HOSTILE_WORD + " " + HOSTILE_WORD)
    if not items:
        raise CheckFailed("the hostile case's expert is not found")
    items[0].find_element("css selector", "button[aria-controls]").click()
    env.wait(lambda d: env.all("#results > li:first-child .evidence li"), "the hostile evidence")
    problems = []
    pwned = env.driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")
    if pwned is not None:
        problems.append("a script from the evidence ran (window.__pwned = %r)" % pwned)
    injected = env.driver.execute_script(
        "return document.querySelectorAll('#results script, #results img, #results iframe, "
        "#results a[href^=\"javascript\"]').length")
    if injected:
        problems.append("%d elements were injected into the results" % injected)
    shown = env.text("#results > li:first-child .evidence")
    if "<script>" not in shown or "onerror" not in shown:
        problems.append("the hostile text is not shown as text: %r" % shown[:300])
    errors = env.browser_errors()
    if errors:
        problems.append("the browser log has errors: %s" % errors[:3])
    if problems:
        raise CheckFailed("; ".join(problems))


def f_sign_out(env):
    c = env.cookie()
    csrf = env.csrf()
    env.open("#/")
    env.wait(lambda d: env.find("#signout").is_displayed(), "the sign-out button")
    env.find("#signout").click()
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form after signing out")
    status, _, body = env.http.api("Directory/SearchPeople", {"prefix": "isa"}, cookie=c["value"],
                                   csrf=csrf)
    if status != 401:
        raise CheckFailed("the signed-out session still answers: %d %s" % (status, body))


def g_reader(env):
    # Camille's profile id, as an agent sees it.
    status, _, camille = env.http.api("Directory/GetProfile",
                                      {"identifier": {"type": "twitter", "value": "@CamilleRoussel_"}},
                                      token=env.args.agent_token)
    if status != 200:
        raise CheckFailed("the agent cannot read Camille: %d %s" % (status, camille))
    env.sign_in(env.args.reader_token)
    problems = []
    items = []
    try:
        items = env.search_experts(FRENCH, "@CamilleRoussel_")
    except CheckFailed:
        pass
    if items or "needs the role agent" not in env.text("#status"):
        problems.append("a reader's Find: %d results, status %r" % (len(items), env.text("#status")))
    env.open("#/search")
    # One search for the whole word (typing would search each prefix as it goes).
    env.driver.execute_script(
        "document.getElementById('search-results').textContent = '';"
        "document.getElementById('search-input').value = 'camille';"
        "document.getElementById('search-form').requestSubmit();")
    env.wait(lambda d: env.all("#search-results li"), "search results")
    if "customer" in env.text("#search-results"):
        problems.append("a reader's search shows a customer: %r" % env.text("#search-results"))
    env.open("#/profile/" + camille["id"])
    env.wait(lambda d: env.text("#profile-title") not in ("", "…"), "the profile page's answer")
    if "Camille" in env.text("#view-profile") or "no profile" not in env.text("#profile-title"):
        problems.append("a reader opening Camille's profile by URL sees %r"
                        % env.text("#view-profile")[:200])
    if problems:
        raise CheckFailed("; ".join(problems))


def h_screenshots(env):
    env.sign_in(env.args.agent_token)
    env.search_experts(FRENCH, "@CamilleRoussel_")
    env.find("#lang").click()
    env.wait(lambda d: env.driver.execute_script("return document.documentElement.lang") == "fr",
             "the page in French")
    env.search_experts(FRENCH, "@CamilleRoussel_")
    env.wait(lambda d: "Camille Roussel" in env.text("#history-body"), "Camille's history")
    if "Trouver le bon collègue" not in env.text("#find-title"):
        raise CheckFailed("the French title is %r" % env.text("#find-title"))
    # The server writes the reasons in the page's language too.
    why = env.text("#results > li:first-child .why")
    if "conseiller de Camille Roussel" not in why or "a résolu" not in why:
        raise CheckFailed("the first reason in French is %r" % why)
    env.screenshot("main-fr")
    first = env.all("#results > li h3 a")[0]
    first.click()
    env.wait(lambda d: env.text("#profile-title") not in ("", "…"), "a profile page")
    env.screenshot("profile-fr")
    env.open("#/search")
    box = env.find("#search-input")
    box.clear()  # the page was not reloaded: (g)'s words may still be there
    box.send_keys("isab")
    env.wait(lambda d: env.all("#search-results li a"), "search results")
    env.screenshot("search-fr")
    env.find("#lang").click()
    env.wait(lambda d: env.driver.execute_script("return document.documentElement.lang") == "en",
             "the page in English again")
    env.screenshot("search-en")
    # An admin sees the sources.
    env.find("#signout").click()
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form")
    env.screenshot("signin-en")
    env.sign_in(env.args.admin_token)
    env.open("#/sources")
    env.wait(lambda d: env.all("#sources-table tbody tr"), "the sources table")
    names = env.text("#sources-table tbody")
    if "helpdesk" not in names or "crm" not in names:
        raise CheckFailed("the sources page lists %r" % names[:300])
    env.screenshot("sources-en")
    env.find("#lang").click()
    env.wait(lambda d: "Dernière synchro" in env.text("#sources-table thead"), "the sources page in French")
    env.screenshot("sources-fr")
    status, _, isabelle = env.http.api("Directory/GetProfile",
                                       {"identifier": {"type": "employee_id", "value": "E1029"}},
                                       token=env.args.agent_token)
    if status != 200:
        raise CheckFailed("Isabelle's profile over the API: %d %s" % (status, isabelle))
    env.open("#/profile/" + isabelle["id"])
    env.wait(lambda d: env.text("#profile-title") == "Isabelle Laurent", "Isabelle's profile")
    env.find("#lang").click()
    env.wait(lambda d: "What the sources say" in env.text("#profile-body"), "the profile in English")
    env.screenshot("profile-en")
    env.find("#lang").click()
    env.find("#signout").click()
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form")
    env.screenshot("signin-fr")
    env.find("#lang").click()  # back to English for whatever runs next


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, os.path.join(HERE, "..", "scim"))
    sample.add_args(p)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    p.add_argument("--screenshots", default="", help="save the screenshots here")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        require(args, "base", "grpc", "admin_token", "agent_token", "reader_token", "loader_token", "cli")
        sample.load_sample(args)
        env = Env(args, args.base[:args.base.index("/scim/v2")])
        env.driver = env.browser()
    except UsageError as e:
        print("console: error: %s" % e, file=sys.stderr)
        return 2
    tally = Tally(args.verbose)
    try:
        tally.run("(a) security headers; no session: 401 and the sign-in form", a_headers_and_no_session, env)
        if tally.run("(b) an agent signs in: HttpOnly SameSite=Strict cookie, CSRF enforced", b_sign_in, env):
            tally.run("(c) main flow: Isabelle first, Camille's history, a hand-over adds load", c_main_flow, env)
            tally.run("(d) the English message: card experts with highlighted words", d_english, env)
            tally.run("(e) hostile text renders as text; no script, no injected element", e_hostile, env)
            tally.run("(f) sign-out ends the session on the server", f_sign_out, env)
        tally.run("(g) a reader sees no customer anywhere", g_reader, env)
        tally.run("(h) every screen, in English and French, as screenshots; an admin's sources", h_screenshots, env)
    finally:
        env.driver.quit()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
