"""Benchmark: generate a 20,000-target sandbox with 60 days of history, then sync it end to end.

Run: ``python -m bench.sandbox_generate [--targets N] [--days D]``. Prints the time to generate
the account (entities, truths, history), to list every keyword and target through the fake SP v3
API, and to pull the 60 days as two spTargeting DAILY reports (create, poll, download, decode).
Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from bidagent.sandbox import Sandbox

CLIENT_ID = "amzn1.application-oa2-client.sandbox"


def _headers(token: str, profile: str, media: str | None = None) -> dict[str, str]:
    headers = {
        "Amazon-Advertising-API-ClientId": CLIENT_ID,
        "Authorization": f"Bearer {token}",
        "Amazon-Advertising-API-Scope": profile,
    }
    return headers | ({"Content-Type": media, "Accept": media} if media else {})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        box = Sandbox.open(
            Path(folder) / "bench.sandbox", targets=args.targets, history_days=args.days
        )
        generated = time.perf_counter() - started
        client = httpx.Client(transport=box.transport())
        token = client.post(
            box.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|sandbox",
                "client_id": CLIENT_ID,
                "client_secret": "sandbox-secret",
            },
        ).json()["access_token"]
        profile = box.profiles[0]
        started = time.perf_counter()
        listed = 0
        for path, key, media in (
            ("/sp/keywords/list", "keywords", "spKeyword"),
            ("/sp/targets/list", "targetingClauses", "spTargetingClause"),
        ):
            body: dict[str, object] = {"maxResults": 1000}
            while True:
                page = client.post(
                    box.base_url + path,
                    json=body,
                    headers=_headers(token, profile, f"application/vnd.{media}.v3+json"),
                ).json()
                listed += len(page[key])
                if "nextToken" not in page:
                    break
                body["nextToken"] = page["nextToken"]
        synced = time.perf_counter() - started
        started = time.perf_counter()
        today = box.today(profile)
        rows = 0
        for first, last in (
            (today - timedelta(days=args.days), today - timedelta(days=31)),
            (today - timedelta(days=30), today - timedelta(days=1)),
        ):
            request = {
                "startDate": first.isoformat(),
                "endDate": last.isoformat(),
                "configuration": {
                    "adProduct": "SPONSORED_PRODUCTS",
                    "reportTypeId": "spTargeting",
                    "groupBy": ["targeting"],
                    "columns": [
                        "date",
                        "keywordId",
                        "keywordType",
                        "impressions",
                        "clicks",
                        "cost",
                        "purchases7d",
                        "sales7d",
                    ],
                    "timeUnit": "DAILY",
                    "format": "GZIP_JSON",
                },
            }
            report = client.post(
                box.base_url + "/reporting/reports",
                json=request,
                headers=_headers(
                    token, profile, "application/vnd.createasyncreportrequest.v3+json"
                ),
            ).json()
            status = report
            while status["status"] != "COMPLETED":
                status = client.get(
                    f"{box.base_url}/reporting/reports/{report['reportId']}",
                    headers=_headers(token, profile),
                ).json()
            file = httpx.Client(transport=box.transport()).get(status["url"]).content
            rows += len(json.loads(gzip.decompress(file)))
        reported = time.perf_counter() - started
        print(f"generate {args.targets} targets x {args.days} days: {generated:.1f} s")
        print(f"list {listed} keywords and targets: {synced:.1f} s")
        print(f"two spTargeting DAILY reports, {rows} rows: {reported:.1f} s")
        box.close()


if __name__ == "__main__":
    main()
