"""The media bucket: presigned uploads, raw objects in, renditions out."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from botocore.exceptions import ClientError

from aperture.ports import PresignedPost
from aperture.resources import UPLOAD_PREFIX

IMMUTABLE = "public, max-age=31536000, immutable"
# Raw uploads tagged so are expired by the bucket's lifecycle rule; untagged (failed) ones are kept longer.
PROCESSED_TAG = {"Key": "aperture-state", "Value": "processed"}
# Large files (data export ZIPs) go up in 8 MiB parts, one at a time: memory holds one part (boto3's managed
# transfer buffers ten), and 10,000 parts (S3's limit) cover 80 GB, more than a function's /tmp holds.
PART_BYTES = 8 * 1024 * 1024


class MediaStore:
    def __init__(self, client: Any, bucket: str, forget_cached: Callable[[str], None] = lambda prefix: None) -> None:
        self._s3 = client
        self._bucket = bucket
        self._forget_cached = forget_cached  # the CDN's copies of what is deleted (aperture.invalidations)

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A SigV4 POST policy pinning the key, the content type and a 1..max_bytes size range."""
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields=dict(post["fields"]))

    def upload_url(self) -> str:
        """Where browsers send presigned POSTs (the bucket's endpoint), as the web app's CSP must admit it.

        Signing a policy is local computation: no request is made."""
        return str(self._s3.generate_presigned_post(Bucket=self._bucket, Key=UPLOAD_PREFIX)["url"])

    def size(self, key: str) -> int | None:
        try:
            return int(self._s3.head_object(Bucket=self._bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def read(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

    def fetch(self, key: str) -> tuple[bytes, str] | None:
        """An object's bytes and content type, or None when there is no such object."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return bytes(response["Body"].read()), str(response.get("ContentType", "application/octet-stream"))

    def write_immutable(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, CacheControl=IMMUTABLE)

    def write(self, key: str, body: bytes, content_type: str) -> None:
        """Write (or overwrite) one private object: nothing CloudFront serves."""
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def keys_under(self, prefix: str) -> set[str]:
        keys: set[str] = set()
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    def stream(self, key: str) -> IO[bytes] | None:
        """An object's body as a stream (read it in chunks; nothing is held whole), or None if there is none."""
        try:
            body: IO[bytes] = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return body

    def upload(self, key: str, body: IO[bytes], content_type: str, filename: str) -> None:
        """Upload a file as a download named `filename`, in PART_BYTES parts when larger, one part in memory at a
        time; encrypted as the bucket's default says (SSE-S3). The object appears only once whole; a multipart
        upload left unfinished by a crash is aborted by the bucket's lifecycle rule."""
        target = {"Bucket": self._bucket, "Key": key}
        headers = {"ContentType": content_type, "ContentDisposition": f'attachment; filename="{filename}"'}
        part = body.read(PART_BYTES)
        following = body.read(PART_BYTES)
        if not following:
            self._s3.put_object(**target, **headers, Body=part)
            return
        upload_id = self._s3.create_multipart_upload(**target, **headers)["UploadId"]
        parts = []
        number = 1
        while part:
            sent = self._s3.upload_part(**target, UploadId=upload_id, PartNumber=number, Body=part)
            parts.append({"ETag": sent["ETag"], "PartNumber": number})
            part, following, number = following, body.read(PART_BYTES) if following else b"", number + 1
        self._s3.complete_multipart_upload(**target, UploadId=upload_id, MultipartUpload={"Parts": parts})

    def presigned_get(self, key: str, expires_in: int) -> str:
        """A URL that downloads one object until `expires_in` seconds from now (or until the signing credentials
        expire, if sooner: on Lambda, its role's session). Signing is local computation: no request is made."""
        params = {"Bucket": self._bucket, "Key": key}
        return str(self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))

    def mark_processed(self, key: str) -> None:
        self._s3.put_object_tagging(Bucket=self._bucket, Key=key, Tagging={"TagSet": [PROCESSED_TAG]})

    def delete(self, key: str) -> None:
        """Delete one object (nothing happens if it is gone already)."""
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def delete_under(self, prefix: str, forget_cached: bool = False) -> int:
        """Delete every object under a prefix, and the CDN's cached copies; returns how many. With
        `forget_cached`, the CDN is told even when nothing was left to delete (a retry of a deletion that stopped
        after the objects went and before the CDN was told)."""
        keys = self._delete_all(prefix)
        if keys or forget_cached:
            self._forget_cached(prefix)
        return keys

    def delete_unserved(self, prefix: str) -> int:
        """Delete every object under a prefix the CDN never served (raw uploads, a refused carousel's renditions),
        telling it nothing; returns how many."""
        return self._delete_all(prefix)

    def _delete_all(self, prefix: str) -> int:
        keys = sorted(self.keys_under(prefix))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            response = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):  # DeleteObjects answers 200 even when it deleted nothing: say so
                first = response["Errors"][0]
                raise RuntimeError(
                    f"{len(response['Errors'])} objects not deleted, e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
        return len(keys)
