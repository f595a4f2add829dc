"""
Copy the image's collected static files (STATIC_ROOT) to the static bucket
under static/, where CloudFront's /static/* reads them. Files already there
are left alone: their names are fingerprinted, so same name, same bytes.
Run by the release task: `entrypoint.sh publish-static [--dry-run]`.
"""

import argparse
import mimetypes
import os
import sys
from pathlib import Path

import boto3

CACHE_CONTROL = "public, max-age=31536000, immutable"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--bucket",
        default=os.environ.get("STATIC_BUCKET", ""),
        help="Destination bucket (default: $STATIC_BUCKET).",
    )
    parser.add_argument(
        "--root",
        default=os.environ.get("STATIC_ROOT", "staticfiles"),
        help="Collected static files (default: staticfiles).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="List what would be uploaded."
    )
    args = parser.parse_args()
    if not args.bucket:
        parser.error("no bucket: set STATIC_BUCKET or pass --bucket")
    root = Path(args.root)
    s3 = boto3.client("s3")
    existing = set()
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=args.bucket, Prefix="static/"
    ):
        existing.update(item["Key"] for item in page.get("Contents", []))
    uploaded = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"static/{path.relative_to(root).as_posix()}"
        if key in existing:
            continue
        uploaded += 1
        if args.dry_run:
            print(f"would upload {key}")
            continue
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(
            str(path),
            args.bucket,
            key,
            ExtraArgs={"ContentType": content_type, "CacheControl": CACHE_CONTROL},
        )
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} {uploaded} files, {len(existing)} already in s3://{args.bucket}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
