"""One active run per (target, project): a marker blob created with If-None-Match: *.

The marker names the run holding it. A new run takes it over (by ETag) only when the holder has
finished, or has shown no progress for the stall timeout; the takeover itself, which also fails the
stalled run, runs under a short blob lease so two instances cannot interleave it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from shared.clock import Clock, parse_iso, utc_iso
from shared.errors import ConcurrentUpdate, RunConflict, UnknownRun
from shared.runs.manifest import FAILED, ManifestStore, RunManifest
from shared.storage.json_blobs import JsonBlobs

logger = logging.getLogger(__name__)

TAKEOVER_LEASE_SECONDS = 15  # a critical section of a few blob calls; leases are 15-60 s


@dataclass(frozen=True)
class Acquired:
    run_id: str
    superseded_run_id: str | None = None  # a finished or stalled run whose marker we replaced


def stalled(manifest: RunManifest, now: datetime, stall_timeout: timedelta) -> bool:
    last = manifest.progress_at or manifest.updated_at
    return manifest.active and now - last > stall_timeout


class RunLock:
    def __init__(self, blobs: JsonBlobs, manifests: ManifestStore, clock: Clock,
                 stall_timeout: timedelta) -> None:
        self.blobs = blobs
        self.manifests = manifests
        self.clock = clock
        self.stall_timeout = stall_timeout

    @staticmethod
    def blob_name(target: str, project: str) -> str:
        return f"locks/{target}/{project}.json"

    def holder(self, target: str, project: str) -> str | None:
        found = self.blobs.read(self.blob_name(target, project))
        return str(found.data["run_id"]) if found else None

    def acquire(self, target: str, project: str, run_id: str) -> Acquired:
        """Take the lock for `run_id` or raise RunConflict naming the active run."""
        name = self.blob_name(target, project)
        marker = {"run_id": run_id, "acquired_at": utc_iso(self.clock.now())}
        for _ in range(6):
            with contextlib.suppress(ConcurrentUpdate):
                self.blobs.create(name, marker)
                return Acquired(run_id)
            found = self.blobs.read(name)
            if found is None:
                continue  # released meanwhile: try creating again
            holder = str(found.data["run_id"])
            verdict = self._verdict(project, holder, parse_iso(found.data["acquired_at"]))
            if verdict == "active":
                raise RunConflict(f"run {holder} is already active for {project} on {target}", holder)
            if self._take_over(name, found.etag, marker, project, holder, verdict):
                return Acquired(run_id, superseded_run_id=holder)
        holder_now = self.holder(target, project)
        raise RunConflict(f"could not take the run lock for {project} on {target}", holder_now)

    def _verdict(self, project: str, holder: str, acquired_at: datetime) -> str:
        now = self.clock.now()
        try:
            manifest = self.manifests.load(project, holder).manifest
        except UnknownRun:
            # Crashed between taking the lock and writing the manifest, or still writing it.
            return "stalled" if now - acquired_at > self.stall_timeout else "active"
        if not manifest.active:
            return "finished"
        return "stalled" if stalled(manifest, now, self.stall_timeout) else "active"

    def _take_over(self, name: str, etag: str, marker: dict[str, str], project: str, holder: str,
                   verdict: str) -> bool:
        blob = self.blobs.container.get_blob_client(name)
        try:
            lease = blob.acquire_lease(lease_duration=TAKEOVER_LEASE_SECONDS, etag=etag,
                                       match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, HttpResponseError):
            return False  # another instance is taking over, or the marker changed: look again
        try:
            if verdict == "stalled":
                self._fail_stalled(project, holder, marker["run_id"])
            self.blobs.replace(name, marker, etag, lease=lease)
            logger.warning("run lock for %s taken over from %s run %s by %s", project, verdict, holder,
                           marker["run_id"])
            return True
        except ConcurrentUpdate:
            return False
        finally:
            with contextlib.suppress(HttpResponseError):
                lease.release()

    def _fail_stalled(self, project: str, holder: str, successor: str) -> None:
        now = self.clock.now()

        def fail(manifest: RunManifest) -> bool:
            if not manifest.active:
                return False
            manifest.status = FAILED
            manifest.finished_at = now
            manifest.error = {"code": "Stalled", "message": (
                f"no progress for {self.stall_timeout}; superseded by run {successor}")}
            return True

        with contextlib.suppress(UnknownRun):
            self.manifests.update(project, holder, fail, now)

    def release(self, target: str, project: str, run_id: str) -> None:
        """Drop the marker if `run_id` still holds it (a successor's marker is left alone)."""
        name = self.blob_name(target, project)
        found = self.blobs.read(name)
        if found is None or found.data.get("run_id") != run_id:
            return
        with contextlib.suppress(ConcurrentUpdate, HttpResponseError):
            self.blobs.delete(name, found.etag)
