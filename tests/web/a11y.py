"""The web console's accessibility, in a real browser (Debian's headless Chromium through
Selenium), against the real tesserad holding the sample organisation.

  (a) axe-core (vendored in tests/web/vendor, AXE_VERSION) loads into the console page and
      runs under the console's CSP (script-src 'self'): WebDriver's script is not subject
      to it, and axe itself needs no eval; the browser logs no CSP violation;
  (b) the sign-in screen has no serious or critical axe violation, in English and French;
  (c) keyboard only (Tab and Enter, never a click): sign in, type the French message and
      the customer, Find, open the first expert's evidence (aria-expanded turns true, the
      details show), hand over (the status line confirms); every control reached shows a
      focus outline;
  (d) the main screen with results, the customer's history and one expert's details open
      (the French message, customer @CamilleRoussel_);
  (e) a profile page (the first result's name);
  (f) the search screen with results ("isab");
      (d)-(f): no serious or critical axe violation, in English and in French.

A case fails on any violation of impact "serious" or "critical" and lists them all; with -v
the minor and moderate ones are printed as information. Run by run_a11y_test.sh. Exit
status 0 when every case passed, 1 when one failed, 2 on bad arguments or when the browser
cannot start. The command-line arguments are console.py's.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "scim"))

import console as C  # noqa: E402
from scimlib import CheckFailed, Tally, UsageError, require  # noqa: E402

AXE_VERSION = "4.14.1"
AXE_PATH = os.path.join(HERE, "vendor", "axe-core-" + AXE_VERSION, "axe.min.js")
FAILING_IMPACTS = ("serious", "critical")
LANGUAGES = (("en", "English"), ("fr", "French"))
MAX_TABS = 60  # a Tab search gives up after this many presses

# axe.run on the whole document; the answer is cut down to what a report needs (the full
# result holds every node's HTML). A rejected run comes back as {error}.
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  (r) => done({violations: r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.map(String).join(' >>> '))}))}),
  (e) => done({error: String((e && e.stack) || e)}));
"""

# What has the focus, for a failure message: tag#id.class "accessible-ish text".
DESCRIBE_FOCUS = """
const e = document.activeElement;
if (!e || e === document.body) return 'the page itself (body)';
let s = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '');
if (typeof e.className === 'string' && e.className.trim()) s += '.' + e.className.trim().split(/\\s+/).join('.');
const text = (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().replace(/\\s+/g, ' ');
return s + (text ? ' "' + text.slice(0, 50) + '"' : '');
"""


class Axe:
    """The vendored axe-core, injected into the page when it is not there yet."""

    def __init__(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                self.source = f.read()
        except OSError as e:
            raise UsageError("cannot read axe-core at %s: %s" % (path, e))

    def inject(self, env):
        d = env.driver
        if not d.execute_script("return typeof window.axe === 'object'"):
            d.execute_script(self.source)
        version = d.execute_script("return window.axe && window.axe.version")
        if version != AXE_VERSION:
            raise CheckFailed("axe did not load into the page (axe.version is %r, expected %s)"
                              % (version, AXE_VERSION))

    def violations(self, env):
        self.inject(env)
        env.driver.set_script_timeout(max(env.args.timeout, 60))
        r = env.driver.execute_async_script(RUN_AXE)
        if r.get("error"):
            raise CheckFailed("axe.run failed: %s" % r["error"][:500])
        return r["violations"]

    def check(self, env, screen):
        """Fails on a serious or critical violation (all of them listed); prints the others
        with -v."""
        found = self.violations(env)
        bad = [v for v in found if v["impact"] in FAILING_IMPACTS]
        if env.args.verbose:
            for v in found:
                if v not in bad:
                    print("     info: %s: %s" % (screen, describe(v)), flush=True)
        if bad:
            raise CheckFailed("%d serious or critical axe violation(s) on %s:\n  %s"
                              % (len(bad), screen, "\n  ".join(describe(v) for v in bad)))


def describe(v):
    """One violation: id (impact): help [the first 3 targets] (+N more)."""
    more = len(v["targets"]) - 3
    return "%s (%s): %s [%s]%s" % (v["id"], v["impact"], v["help"], ", ".join(v["targets"][:3]),
                                   " (+%d more)" % more if more > 0 else "")


# --- page helpers ---

def set_language(env, lang):
    """The page in `lang`, switched with the #lang button when it is in the other one (the
    choice is kept in localStorage, so it holds across page loads)."""
    if env.driver.execute_script("return document.documentElement.lang") != lang:
        env.find("#lang").click()
    env.wait(lambda d: d.execute_script("return document.documentElement.lang") == lang,
             "the page in %r" % lang)


def signed_in(env):
    """A session for the agent: the keyboard case signs in; if it failed before that, sign
    in the ordinary way so that the other cases still run."""
    if not env.cookie():
        env.sign_in(env.args.agent_token)


def press(env, *keys):
    """Keys sent to whatever has the focus, as a person at the keyboard would."""
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(env.driver).send_keys(*keys).perform()


def focused(env, css):
    return env.driver.execute_script(
        "return !!document.activeElement && document.activeElement.matches(arguments[0])", css)


def tab_to(env, css, what):
    """Tab until the focused element matches `css` (at most MAX_TABS presses); fails with
    where the focus went."""
    from selenium.webdriver.common.keys import Keys
    path = []
    for _ in range(MAX_TABS):
        if focused(env, css):
            return
        press(env, Keys.TAB)
        path.append(env.driver.execute_script(DESCRIBE_FOCUS))
    if not focused(env, css):
        raise CheckFailed("%d Tabs did not reach %s (%s); the focus's last stops: %s"
                          % (MAX_TABS, what, css, " -> ".join(path[-12:])))


def focus_ring(env, what):
    """None when the focused element draws an outline; else what is wrong."""
    style = env.driver.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, s.outlineWidth];")
    if style[0] == "none" or float(style[1].rstrip("px") or 0) <= 0:
        return "%s has no visible focus (outline %s %s)" % (what, style[0], style[1])
    return None


# --- cases ---

def a_axe_loads(env, axe):
    env.driver.get_log("browser")  # drop what came before
    env.open("#/signin")
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form")
    _, msg, _ = env.http.send("GET", "/console/")
    csp = msg.get("Content-Security-Policy") or ""
    if "script-src 'self'" not in csp or "unsafe-eval" in csp or "unsafe-inline" in csp:
        raise CheckFailed("the console's CSP is %r: this case expects scripts limited to 'self', "
                          "without eval" % csp)
    axe.violations(env)
    blocked = [e["message"] for e in env.driver.get_log("browser")
               if "Content Security Policy" in e.get("message", "")]
    if blocked:
        raise CheckFailed("the CSP blocked part of axe: %s" % blocked[:3])


def b_sign_in_screen(env, axe, lang, language):
    env.open("#/signin")
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form")
    set_language(env, lang)
    axe.check(env, "the sign-in screen (%s)" % language)


def c_keyboard(env):
    from selenium.webdriver.common.keys import Keys
    env.open("#/signin")
    env.wait(lambda d: env.find("#view-signin").is_displayed(), "the sign-in form")
    set_language(env, "en")  # the words checked below are English
    problems = []

    def reach(css, what):
        tab_to(env, css, what)
        ring = focus_ring(env, what)
        if ring:
            problems.append(ring)

    reach("#token", "the token field")
    press(env, env.args.agent_token, Keys.ENTER)
    env.wait(lambda d: env.find("#view-find").is_displayed(), "the main screen after Enter in the token field")
    reach("#message", "the message box")
    press(env, C.FRENCH)
    reach("#customer", "the customer field")
    press(env, "@CamilleRoussel_")
    reach("#channel", "the channel list")
    reach("#find-form button[type=submit]", "the Find button")
    press(env, Keys.ENTER)
    env.wait(lambda d: env.all("#results > li"), "results after Enter on Find")
    typed = env.driver.execute_script(
        "return [document.getElementById('message').value, document.getElementById('customer').value]")
    if typed != [C.FRENCH, "@CamilleRoussel_"]:
        problems.append("the keys typed %r, expected %r" % (typed, [C.FRENCH, "@CamilleRoussel_"]))

    toggle = "#results > li:first-child button[aria-controls]"
    reach(toggle, "the first result's \"Evidence and contact\" button")
    if env.find(toggle).get_attribute("aria-expanded") != "false":
        problems.append("the details button starts with aria-expanded=%r"
                        % env.find(toggle).get_attribute("aria-expanded"))
    press(env, Keys.ENTER)
    details = env.find(toggle).get_attribute("aria-controls")
    env.wait(lambda d: env.find(toggle).get_attribute("aria-expanded") == "true"
             and env.find("#" + details).is_displayed(),
             "aria-expanded=true and the details shown after Enter on the details button")

    reach("#results button[data-handover]", "a \"Hand over to this person\" button")
    press(env, Keys.ENTER)
    env.wait(lambda d: "Handed over" in env.text("#status"), "the status line's hand-over confirmation")
    if problems:
        raise CheckFailed("; ".join(problems))


def d_main_screen(env, axe, lang, language):
    signed_in(env)
    env.open("#/")
    env.wait(lambda d: env.find("#view-find").is_displayed(), "the main screen")
    set_language(env, lang)
    items = env.search_experts(C.FRENCH, "@CamilleRoussel_")
    if not items:
        raise CheckFailed("no result for the French message")
    items[0].find_element("css selector", "button[aria-controls]").click()
    env.wait(lambda d: env.all("#results > li:first-child .evidence li"), "the first expert's evidence")
    env.wait(lambda d: "Camille Roussel" in env.text("#history-body"), "Camille's history")
    axe.check(env, "the main screen (%s)" % language)


def e_profile(env, axe, lang, language):
    signed_in(env)
    env.open("#/")
    env.wait(lambda d: env.find("#view-find").is_displayed(), "the main screen")
    set_language(env, lang)
    env.search_experts(C.FRENCH, "@CamilleRoussel_")
    env.all("#results > li h3 a")[0].click()
    # The relations section is the page's last part to arrive (Directory/Neighbors).
    env.wait(lambda d: len(env.all("#profile-body > section")) >= 4, "the profile page with its relations")
    axe.check(env, "the profile page of %s (%s)" % (env.text("#profile-title"), language))


def f_search(env, axe, lang, language):
    signed_in(env)
    env.open("#/search")
    env.wait(lambda d: env.find("#view-search").is_displayed(), "the search screen")
    set_language(env, lang)
    box = env.find("#search-input")
    box.clear()
    box.send_keys("isab")
    env.wait(lambda d: env.all("#search-results li a"), "search results for 'isab'")
    axe.check(env, "the search screen (%s)" % language)


def main(argv):
    args = C.parse_args(argv)
    try:
        require(args, "base", "grpc", "agent_token", "loader_token", "cli")
        axe = Axe(AXE_PATH)
        C.sample.load_sample(args)
        env = C.Env(args, args.base[:args.base.index("/scim/v2")])
        env.driver = env.browser()
    except UsageError as e:
        print("a11y: error: %s" % e, file=sys.stderr)
        return 2
    tally = Tally(args.verbose)
    try:
        tally.run("(a) axe-core %s runs in the console under its CSP" % AXE_VERSION, a_axe_loads, env, axe)
        for lang, language in LANGUAGES:
            tally.run("(b) the sign-in screen in %s: no serious or critical violation" % language,
                      b_sign_in_screen, env, axe, lang, language)
        tally.run("(c) keyboard only: sign in, find, open the evidence, hand over; focus visible",
                  c_keyboard, env)
        for letter, what, fn in (("d", "the main screen with results, history and details", d_main_screen),
                                 ("e", "a profile page", e_profile),
                                 ("f", "the search screen with results", f_search)):
            for lang, language in LANGUAGES:
                tally.run("(%s) %s in %s: no serious or critical violation" % (letter, what, language),
                          fn, env, axe, lang, language)
    finally:
        env.driver.quit()
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
