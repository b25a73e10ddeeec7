"""Run under the production settings (as a separate process): migrate a scratch database, log a
user in through the login form over HTTPS, and print, as JSON, the status, headers and cookies of
representative responses. tests/tracker/test_deploy.py reads the output.

Only the static-files storage is swapped (the manifest exists only after collectstatic).
"""

import json
import sys

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

HOST = "lodestone.example.gov"
URLS = ["/accounts/login/", "/", "/deals/", "/admin/login/", "/admin/", "/api/v1/deals/", "/api/docs/",
        "/healthz", "/no-such-page/"]  # fmt: skip


def _cookies(response) -> dict:
    return {
        name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"]), "samesite": c["samesite"],
               "max-age": c["max-age"], "domain": c["domain"], "path": c["path"]}
        for name, c in response.cookies.items()
    }  # fmt: skip


def main() -> None:
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("ada", password="correct horse battery staple", is_staff=True)
    user.groups.add(Group.objects.get(name="Admin"))
    client = Client(HTTP_HOST=HOST)
    report: dict = {"plain_http": client.get("/deals/").status_code}
    report["plain_http_healthz"] = client.get("/healthz").status_code
    page = client.get("/accounts/login/", secure=True)
    token = client.cookies["__Host-csrftoken"].value  # the form's token may be the cookie's value
    credentials = {"username": "ada", "password": "correct horse battery staple", "csrfmiddlewaretoken": token}
    login = client.post("/accounts/login/", credentials, secure=True)
    report["login"] = {"status": login.status_code, "cookies": _cookies(login), "csrf_cookies": _cookies(page)}
    report["pages"] = {}
    for url in URLS:
        response = client.get(url, secure=True)
        report["pages"][url] = {"status": response.status_code, "headers": dict(response.headers)}
    client.raise_request_exception = False
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        main()
