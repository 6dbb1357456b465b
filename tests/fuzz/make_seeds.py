#!/usr/bin/python3
"""Writes the sample seeds of the fuzz targets' corpus folders from the repository's
sample data (tests/data, deploy/, the connectors' test fixtures), each prefixed with
its target's option bytes (tests/fuzz/README.md). Only files named "sample-*" are
written; the inputs that once failed (named after their bug) are left alone.

Run from anywhere: tests/fuzz/make_seeds.py
"""

import base64
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLE = ROOT / "tests" / "data" / "sample"


def read(path):
    return (ROOT / path).read_bytes()


def write(corpus, name, data):
    folder = HERE / corpus
    folder.mkdir(exist_ok=True)
    (folder / ("sample-" + name)).write_bytes(data)


def lines(path, n):
    return b"".join(read(path).splitlines(keepends=True)[:n])


def csv_seeds():
    # Option bytes: delimiter (0 ',' 1 ';' 2 tab 3 auto 4 none), encoding (0 utf-8
    # 1 latin1 2 windows-1252 3 utf-16 4 utf-16le 5 none), dates (0 iso 1 dd/mm/yyyy
    # 2 mm/dd/yyyy 3 none).
    write("csv_corpus", "hr", b"\x00\x05\x00" + lines("tests/data/sample/hr.csv", 12))
    write("csv_corpus", "people-mini", b"\x04\x05\x03" + lines("tests/data/eval-mini/people.csv", 8))
    write("csv_corpus", "bilingual", b"\x03\x00\x03" +
          lines("tests/data/eval-bilingual/people.csv", 6))
    # connectors/csv/csv_connector_test.cc's exports.
    write("csv_corpus", "latin1-semicolon-ddmm", b"\x01\x01\x01" +
          b"employee_id;display_name;email;location;start_date\n"
          b"E1;H\xe9l\xe8ne Garnier;helene@example.com;Orl\xe9ans;13/03/2017\n"
          b"E2;Bruno Petit;bruno@example.com;Paris;07/11/2016\n")
    write("csv_corpus", "quoted-multiline", b"\x00\x00\x00" +
          b"employee_id,display_name,email,team,title,location,start_date,end_date,manager\n"
          b"E1,Alice Martin,alice.martin@example.com,Cards,\"Head of Cards, "
          b"Paris\",Paris,2017-03-13,,\n"
          b"E2,Karim Benali,karim@example.com,Cards,\"Card\nspecialist\",Paris,2016-11-07,,E1\n"
          b"E3,Old Timer,old@example.com,Cards,Engineer,,2001-01-01,2020-01-31,E1\n"
          b"E5,Short Row\n")
    write("csv_corpus", "windows-1252", b"\x03\x02\x02" +
          b"employee_id,display_name,title,end_date\r\n"
          b"E3,Zo\xe9 \x93Zed\x94 Roux,Budget \x80,12/31/2026\r\n")
    write("csv_corpus", "tab-bom", b"\x02\x00\x00" +
          b"\xef\xbb\xbfemployee_id\tdisplay_name\nE1\tAlice Martin\nE2\t\"Bruno, Petit\"\n")
    utf16 = "employee_id;display_name;start_date\nE1;Élodie Durand;05/01/2026\n"
    write("csv_corpus", "utf16le", b"\x03\x04\x01" + utf16.encode("utf-16-le"))
    write("csv_corpus", "utf16-bom", b"\x01\x03\x01" + utf16.encode("utf-16"))


def ingest_seeds():
    for name in ["hr", "crm", "ldap", "social", "helpdesk", "wiki"]:
        write("ingest_corpus", name, lines(f"tests/data/sample/{name}.jsonl", 3))
    write("ingest_corpus", "tombstone-and-times",
          b'{"source":"hr","external_id":"E9","version":3,"tombstone":true}\n'
          b'{"source":"hr","external_id":"E8","version":1,"kind":"employee",'
          b'"updated_at":"2026-03-01T09:00:00.250+02:00","identifiers":[{"type":"email",'
          b'"value":"a@b.example"}],"relations":[{"type":"reports_to","target":"employee_id:E1"}],'
          b'"evidence":[{"kind":"case","role":"resolved_by","text":"x","time":1767225600000}]}\n'
          b"2026-03-01T09:00:00Z\n2026-03-01\nemail:alice@example.com\n12\n")


def ldif_entries(path, n):
    out, count = [], 0
    for entry in read(path).split(b"\n\n"):
        if entry.strip():
            out.append(entry.strip(b"\n"))
            count += 1
        if count == n:
            break
    return b"\n\n".join(out) + b"\n"


def ldap_seeds():
    # Option byte: bit 0 disabled accounts are leavers, bit 1 expired ones.
    write("ldap_corpus", "openldap", b"\x03" + ldif_entries("tests/data/sample/ldap.ldif", 8))
    guid = bytes.fromhex("37 8d 3b b4 43 5b 69 4a b1 2f 2c 65 4e e5 f5 ea")
    manager = "b43b8d37-5b43-4a69-b12f-2c654ee5f5eb"
    ad_user = (
        b"dn: <GUID=b43b8d37-5b43-4a69-b12f-2c654ee5f5ea>;<SID=S-1-5-21-1-2-3-1105>;"
        b"CN=Ann Lee,OU=Staff,DC=corp,DC=example\n"
        b"objectGUID:: " + base64.b64encode(guid) + b"\n"
        b"cn: Ann Lee\ngivenName: Ann\nsn: Lee\nsAMAccountName: alee\n"
        b"mail: Ann.Lee@corp.example\n"
        b"proxyAddresses: SMTP:ann.lee@corp.example\nproxyAddresses: smtp:alee@corp.example\n"
        b"proxyAddresses: X400:c=US;a= ;p=Corp\n"
        b"employeeID: E2001\ntelephoneNumber: +33 1 42 68 53 10\ndepartment: Cards\n"
        b"userAccountControl: 514\naccountExpires: 134082720000000000\n"
        b"whenChanged: 20261205121315.0Z\n"
        b"manager: <GUID=" + manager.encode() + b">;CN=Boss,OU=Staff,DC=corp,DC=example\n"
        b"memberOf: <GUID=0123456789abcdef0123456789abcdef>;CN=Cards,OU=Groups,DC=corp,DC=example\n"
        b"member;range=0-1499: <GUID=" + manager.encode() + b">;CN=Boss,DC=corp,DC=example\n")
    write("ldap_corpus", "ad-user", b"\x03" + ad_user)
    write("ldap_corpus", "ad-never-expires", b"\x01" + ad_user.replace(
        b"accountExpires: 134082720000000000", b"accountExpires: 9223372036854775807"))


def page_seeds():
    # Option byte: bit 0 HTML, bit 1 a NUL then the side file's JSON follow the page.
    kb = SAMPLE / "knowledge" / "kb"
    for i, page in enumerate(sorted(kb.glob("*.md"))[:4]):
        write("page_corpus", "md-" + page.stem, b"\x00" + page.read_bytes())
    write("page_corpus", "html-opposition", b"\x01" + (
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><title>Opposition carte &amp; fraude</title>\n"
        "<meta name=\"author\" content=\"email:karim.benali@banque-lumen.example\">\n"
        "<meta name=\"updated\" content=\"2026-01-15\"><style>p{}</style></head>\n"
        "<body><h1>Opposition</h1><p>Faire opposition &eacute;tait &#233; &#xE9; possible"
        " <br>24h/24 &lt; 1 &gt; 0 &#0; &#x110000;</p><script>var x = '</p>';</script>"
        "<!-- note --><ul><li>un</li><li>deux</li></ul></body></html>\n").encode())
    write("page_corpus", "html-front-matter", b"\x01" + (
        "---\nauthor: employee_id:E9\n---\n<title>T</title>"
        "<meta name=\"author\" content=\"email:x@y.example\"><p>Text</p>\n").encode())
    write("page_corpus", "md-side-file", b"\x02" + (
        "\ufeff---\ntitle: 'It''s the \"title\"'\ntags: [a, 'b, c']\nauthors:\n  - email:a@b.example\n"
        "- email:c@d.example\nlanguage: fr_FR\n...\n# Heading #\nBody\n").encode()
        + b"\x00" + b'{"author": ["email:z@y.example", 12], "updated": "2026-03-01", "draft": null}')


def social_seeds():
    write("social_corpus", "conversations",
          lines("tests/data/sample/social-conversations.jsonl", 6))
    write("social_corpus", "whatsapp-and-bad",
          b'{"conversation_id": "9", "channel": "WhatsApp", "customer": {"phone": "+33 6 12 34 56 78"},'
          b' "agent": "Claire Vidal <claire.vidal@banque-lumen.example>", "language": "en_GB",'
          b' "messages": [{"from": "customer", "text": "Hello\\n\\tthere", "at": "2026-02-11T08:30:00Z"},'
          b' {"from": "agent", "text": "Hi", "at": "2026-02-11T08:31:00.5+01:00"}, {"from": "customer"}]}\n'
          b'{"conversation_id": "10", "channel": "fax"}\n'
          b'{"conversation_id": "11", "channel": "instagram", "customer": {"handle": "@a"},'
          b' "messages": [{"from": "bot", "text": "x"}]}\nnot json\n\n')


def helpdesk_seeds():
    write("helpdesk_corpus", "cases", lines("tests/data/sample/cases.jsonl", 6))
    write("helpdesk_corpus", "open-and-odd", (
          '{"case_id": "HD-9", "title": "Carte bloquée", "body": "Le client ne peut plus payer.",'
          ' "status": "open", "assigned_to": ["lea@bank.example", "employee_id:E1"],'
          ' "customer": ["twitter:@bob", "phone:+33612345678"], "opened_at": "2026-02-30T25:00:00Z",'
          ' "language": "fr", "paths": ["cards/blocked"]}\n'
          '{"case_id": "HD-10", "title": "' + "x" * 600 + '", "body": "' + "é" * 9000 +
          '", "resolved_by": "not an address", "closed_at": "yesterday"}\n'
          '{"case_id": ""}\nnot json\n').encode())


def crm_seeds():
    # Option byte (mod 3): format csv, jsonl, or none given (by the file name).
    rows = read("tests/data/sample/crm.csv").decode().splitlines()
    write("crm_corpus", "csv", b"\x00" + ("\n".join(rows[:12]) + "\n").encode())
    write("crm_corpus", "csv-by-name", b"\x02" + ("\n".join(rows[:4]) + "\n").encode())
    header = rows[0].split(",")
    records = [dict(zip(header, r.split(","))) for r in rows[1:8]]
    write("crm_corpus", "jsonl", b"\x01" + "".join(
        json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())


def config_seeds():
    # Option byte: bit 0 the principals file, else tesserad's configuration.
    for name in ["tesserad.example.json", "tesserad-https.example.json", "quickstart.json"]:
        write("config_corpus", name.replace(".json", ""), b"\x00" + read("deploy/" + name))
    write("config_corpus", "principals", b"\x01" + (
        '{"tokens": [{"principal": "cm-desk", "sha256": "' + "ab" * 32 + '", '
        '"roles": ["agent"], "expires": "2027-06-30", "person": "email:marc@bank.example"},\n'
        ' {"principal": "hr-sync", "sha256": "' + "cd" * 32 + '", "roles": ["connector"], '
        '"sources": ["hr"]}],\n'
        ' "certificates": [{"common_name": "hr-sync", "roles": ["connector"], "sources": ["hr"]},'
        ' {"common_name": "scraper", "principal": "prometheus", "roles": ["metrics"]}]}\n').encode())


def query_seeds():
    # Option byte (mod 6): language none, en, fr, fr-CA, eng, the first 16 bytes.
    write("query_corpus", "fr-card", b"\x00" +
          "Ma carte a été bloquée à l'étranger, je ne peux plus payer".encode())
    write("query_corpus", "en-explain", b"\x01" +
          b"My card was blocked abroad, I can't pay; np.array_api fails at 09:30. "
          b"Call me on 06 71 24 38 95 or camille@mail.example, @CamilleRoussel_")
    write("query_corpus", "fr-ca-tag", b"\x03" +
          "Bonjour, le virement SEPA instantané n’est pas arrivé — référence Ǆ ﬁ ẞ".encode())
    for line in read("tests/data/eval-bilingual/queries.jsonl").splitlines()[:3]:
        write("query_corpus", "bilingual-" + str(len(line)), b"\x05" + line)


if __name__ == "__main__":
    csv_seeds()
    ingest_seeds()
    ldap_seeds()
    page_seeds()
    social_seeds()
    helpdesk_seeds()
    crm_seeds()
    config_seeds()
    query_seeds()
