"""Benchmark of the batch recalculation against a straightforward per-household ORM loop.

    .venv/bin/python bench/recalculate.py [--households N] [--sample M] [--keep]
        [--database-url URL] [--force]

It runs on a database of its own, never on the configured one: `--database-url`, else the
environment variable BENCH_DATABASE_URL, else sqlite:///bench/bench.sqlite3. The database's name
must contain "bench" (else `--force`), because the benchmark empties the register and the
interventions tables there. A PostgreSQL bench database must exist (createdb povertycase_bench);
the script migrates it and loads the regions.

Steps: (1) make N synthetic households with households.demo (with `--keep`, reuse the stored ones
and add only what is missing); (2) a cold batch recalculation through services.job_run (every
household assessed); (3) the same job again (a no-op: nothing may be written); (4) a per-household
ORM loop on a sample of M households (get, members, facts, evaluate, Assessment.save(),
Case.save()). Memory is the resident set size (RSS, from /proc/self/status: VmHWM, the peak,
reset before each phase through /proc/self/clear_refs; getrusage's maxrss elsewhere), sampled
after every chunk to show whether it grows with N.
"""

import argparse
import os
import platform
import random
import resource
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = f"sqlite:///{ROOT / 'bench' / 'bench.sqlite3'}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000, help="N (default 100000)")
    parser.add_argument("--sample", type=int, default=2000, help="loop sample M (default 2000)")
    parser.add_argument("--keep", action="store_true", help="reuse the stored households")
    parser.add_argument("--chunk-size", type=int, default=None, help="RECALC_CHUNK_SIZE override")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the demo data")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="RECALC_PROCESSES for the batch (default: the CPU count on PostgreSQL, else 1)",
    )
    parser.add_argument("--database-url", default=None, help="bench database (see above)")
    parser.add_argument(
        "--force", action="store_true", help="allow a database whose name lacks 'bench'"
    )
    args = parser.parse_args(argv)
    if args.households < 1 or args.sample < 0:
        parser.error("--households must be at least 1 and --sample zero or more")
    return args


def database_url(args) -> str:
    url = args.database_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    name = urlparse(url).path.rsplit("/", 1)[-1]
    if "bench" not in name.lower() and not args.force:
        sys.exit(
            f"Refusing to run on {name!r}: the benchmark empties the register of the database it "
            "uses. Name a bench database (its name containing 'bench') with --database-url or "
            "BENCH_DATABASE_URL, or pass --force if you really mean this one."
        )
    return url


def setup_django(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "povertycase.settings"
    os.environ.pop("REDIS_URL", None)  # nothing is queued: the bench calls the services itself
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG keeps every SQL string: memory would grow with N


# --- memory ------------------------------------------------------------------------------------

PROC = Path("/proc/self")


def rss_mib() -> float:
    """The current resident set size (MiB); the peak so far where /proc is missing."""
    try:
        pages = int((PROC / "statm").read_text().split()[1])
    except OSError:
        return peak_mib()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_reset() -> bool:
    try:
        (PROC / "clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
    except OSError:
        return False
    return True


def peak_mib() -> float:
    try:
        for line in (PROC / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (2**20 if sys.platform == "darwin" else 1024)


class ChunkMemory:
    """Wraps services.recalculate_chunk to sample the RSS after every chunk."""

    def __init__(self):
        from interventions import services

        self.services = services
        self.original = services.recalculate_chunk
        self.samples: list[float] = []

    def __enter__(self):
        def sampled(*args, **kwargs):
            result = self.original(*args, **kwargs)
            self.samples.append(rss_mib())
            return result

        self.services.recalculate_chunk = sampled
        return self

    def __exit__(self, *exc):
        self.services.recalculate_chunk = self.original

    def growth_per_chunk(self) -> float:
        """RSS growth (MiB) per chunk from the first tenth of the run to its end."""
        n = len(self.samples)
        if n < 3:
            return 0.0
        start = max(1, n // 10)
        return (self.samples[-1] - self.samples[start - 1]) / (n - start)


class CpuTimes:
    """CPU seconds of a phase: this process, its worker processes, and the database server's
    backends serving the bench database (PostgreSQL on this host: their /proc/PID/stat,
    sampled every 0.2 s from a thread; a backend's last 0.2 s before it exits may be missed)."""

    def __init__(self, url: str, vendor: str):
        self.url = url if vendor == "postgresql" else None
        self.backend: dict[int, list[float]] = {}
        self.stop = None

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _sample(self, cursor, first: bool) -> None:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for (pid,) in cursor.fetchall():
            cpu = self._cpu(pid)
            if cpu is None:
                continue
            if pid not in self.backend:
                self.backend[pid] = [cpu if first else 0.0, cpu]
            self.backend[pid][1] = cpu

    def __enter__(self):
        import threading

        self.times = os.times()
        if self.url and Path("/proc").exists():
            import psycopg

            self.stop = threading.Event()
            conn = psycopg.connect(self.url, autocommit=True)
            self._sample(conn.cursor(), first=True)

            def run():
                with conn:
                    while not self.stop.wait(0.2):
                        self._sample(conn.cursor(), first=False)
                    self._sample(conn.cursor(), first=False)

            self.thread = threading.Thread(target=run, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        end = os.times()
        if self.stop is not None:
            self.stop.set()
            self.thread.join()
        self.process = (end.user - self.times.user) + (end.system - self.times.system)
        self.workers = (end.children_user - self.times.children_user) + (
            end.children_system - self.times.children_system
        )
        self.database = sum(last - first for first, last in self.backend.values())

    def as_dict(self) -> dict:
        return {"cpu_process": self.process + self.workers, "cpu_database": self.database}


# --- data ------------------------------------------------------------------------------------


def prepare(args) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from households.demo import load_demo
    from households.models import Household
    from regions.models import Region
    from regions.services import regions_load

    call_command("migrate", verbosity=0, interactive=False)
    if not Region.objects.exists():
        regions_load()
    if not args.keep:
        _empty(connection, ("households_", "interventions_"))
    else:
        _empty(connection, ("interventions_",))
    stored = Household.objects.count()
    made = 0.0
    if stored < args.households:
        missing = args.households - stored
        print(f"Generating {missing:,} demo households ...", flush=True)

        def progress(done, total):
            if done % 50_000 == 0 or done == total:
                print(f"  {done:,}/{total:,}", flush=True)

        made = load_demo(households=missing, seed=args.seed + stored, progress=progress).seconds
    _rule_set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"households": Household.objects.count(), "generated_seconds": made}


def _empty(connection, prefixes) -> None:
    tables = [t for t in connection.introspection.table_names() if t.startswith(prefixes)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"TRUNCATE {', '.join(quote(t) for t in tables)} RESTART IDENTITY CASCADE"
            )
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608 (names from the schema)
            cursor.execute("PRAGMA foreign_keys = ON")


def _rule_set():
    from interventions.models import RuleSet, RuleSetStatus
    from interventions.rules import default_rules

    if not RuleSet.objects.in_force().exists():
        RuleSet.objects.create(
            version=1, name="Bench", rules=default_rules(), status=RuleSetStatus.PUBLISHED
        )


# --- the three runs ----------------------------------------------------------------------------


def counts() -> dict:
    from interventions.models import Assessment, Case, Transition

    return {
        "assessments": Assessment.objects.count(),
        "cases": Case.objects.count(),
        "transitions": Transition.objects.count(),
    }


def run_batch(chunk_size: int | None, processes: int, url: str) -> dict:
    from django.conf import settings
    from django.db import connection

    from interventions import services
    from interventions.models import RecalculationJob

    settings.RECALC_PROCESSES = processes
    job = RecalculationJob.objects.create(trigger=RecalculationJob.Trigger.MANUAL)
    before = counts()
    peak_reset()
    start_rss = rss_mib()
    with ChunkMemory() as memory, CpuTimes(url, connection.vendor) as cpu:
        started = time.perf_counter()
        job = services.job_run(job_id=job.pk, chunk_size=chunk_size)
        seconds = time.perf_counter() - started
    after = counts()
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "status": job.status,
        "households": job.processed,
        "seconds": seconds,
        "assessed": job.assessed,
        "written": {k: after[k] - before[k] for k in after},
        "chunks": len(memory.samples),
        "rss_start": start_rss,
        # the parent's peak, or with worker processes the largest worker's (so far)
        "rss_peak": max(peak_mib(), workers_peak) if processes > 1 else peak_mib(),
        "rss_after_first_tenth": memory.samples[max(1, len(memory.samples) // 10) - 1]
        if memory.samples
        else start_rss,
        "rss_end": memory.samples[-1] if memory.samples else start_rss,
        "growth_per_chunk": memory.growth_per_chunk(),
        **cpu.as_dict(),
    }


def run_loop(sample: int, url: str) -> dict:
    """The straightforward way: one household at a time through the ORM."""
    from django.db import connection, transaction
    from django.utils import timezone

    from households.choices import HouseholdStatus, MemberStatus
    from households.models import Household
    from interventions.evaluation import HouseholdFacts, evaluate
    from interventions.models import Assessment, Case
    from interventions.recalculation import HOUSEHOLD_VALUES, MEMBER_VALUES, RulesInForce
    from interventions.recalculation import fingerprint as fingerprint_of

    ids = list(Household.objects.filter(status=HouseholdStatus.ACTIVE).values_list("pk", flat=True))
    ids = sorted(random.Random(7).sample(ids, min(sample, len(ids))))
    rules = RulesInForce.load()
    peak_reset()
    cpu = CpuTimes(url, connection.vendor).__enter__()
    started = time.perf_counter()
    for household_id in ids:
        now = timezone.now()
        today = timezone.localdate(now)
        with transaction.atomic():
            household = Household.objects.get(pk=household_id)
            members = household.members.filter(status=MemberStatus.ACTIVE).order_by("id")
            facts = HouseholdFacts.from_dicts(
                {name: getattr(household, name) for name in HOUSEHOLD_VALUES},
                [{name: getattr(m, name) for name in MEMBER_VALUES} for m in members],
                today,
            )
            verdict = evaluate(facts, rules.compiled)
            inputs = facts.as_dict()
            print_ = fingerprint_of(inputs, rules.rule_set.version)
            assessment = Assessment(
                household=household,
                rule_set=rules.rule_set,
                assessed_at=now,
                inputs=inputs,
                verdict=verdict.as_dict(),
                extreme_poor=verdict.extreme_poor,
                spending_per_person=verdict.spending_per_person,
                unmet_needs=list(verdict.unmet_needs),
                recommended_tier=verdict.recommended_tier,
                meets_graduation=verdict.meets_graduation,
                fingerprint=print_,
            )
            assessment.save()
            case = Case.objects.filter(pk=household_id).first() or Case(
                household=household, since=now
            )
            case.latest_assessment = assessment
            case.fingerprint = print_
            point = [today.isoformat(), verdict.spending_per_person, verdict.meets_graduation]
            case.recent = [*case.recent, point][-6:]
            case.save()
    seconds = time.perf_counter() - started
    cpu.__exit__(None, None, None)
    return {"households": len(ids), "seconds": seconds, "rss_peak": peak_mib(), **cpu.as_dict()}


# --- report ------------------------------------------------------------------------------------


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)), line]
    for row in rows:
        cells = [
            str(v).ljust(w) if i == 0 else str(v).rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells))
    return "\n".join(out)


def main(argv=None) -> None:
    args = parse_args(argv)
    url = database_url(args)
    setup_django(url)
    from django.conf import settings
    from django.db import connection

    chunk_size = args.chunk_size or settings.RECALC_CHUNK_SIZE
    data = prepare(args)
    default = (os.cpu_count() or 1) if connection.vendor == "postgresql" else 1
    processes = args.processes or default
    print(
        f"\nDatabase: {connection.vendor} {connection.settings_dict['NAME']}; "
        f"{data['households']:,} households; chunk {chunk_size:,}; {processes} process(es); "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()}; {date.today()}",
        flush=True,
    )
    cold = run_batch(chunk_size, processes, url)
    print(f"cold batch: {cold['seconds']:.1f} s", flush=True)
    rerun = run_batch(chunk_size, processes, url)
    print(f"rerun: {rerun['seconds']:.1f} s", flush=True)
    loop = run_loop(args.sample, url) if args.sample else None

    def rate(run):
        return run["households"] / run["seconds"] if run and run["seconds"] else 0.0

    def written(run):
        # assessments and transitions inserted, plus one case row (new or updated) per assessment
        return run["written"]["assessments"] + run["written"]["transitions"] + run["assessed"]

    def row(name, run, rows_written):
        return (
            name,
            f"{run['households']:,}",
            f"{run['seconds']:.2f}",
            f"{rate(run):,.0f}",
            f"{run['cpu_process']:.1f}",
            f"{run['cpu_database']:.1f}" if connection.vendor == "postgresql" else "-",
            f"{run['rss_peak']:.0f}",
            f"{rows_written:,}",
        )

    rows = [
        row("batch, cold (job_run)", cold, written(cold)),
        row("batch, rerun (no-op)", rerun, written(rerun)),
    ]
    if loop:
        rows.append(row("per-household ORM loop", loop, 2 * loop["households"]))
    header = (
        "run",
        "households",
        "seconds",
        "households/s",
        "CPU s (Python)",
        "CPU s (database)",
        "peak RSS MiB",
        "rows written",
    )
    print()
    print(table(rows, header))
    print()
    print(
        f"cold batch wrote {cold['written']['assessments']:,} assessments, "
        f"{cold['written']['cases']:,} new cases, {cold['written']['transitions']:,} transitions; "
        f"rerun wrote {rerun['written']['assessments']:,} assessments, "
        f"{rerun['written']['transitions']:,} transitions, "
        f"assessed {rerun['assessed']:,} households (0 = nothing written)."
    )
    if loop:
        print(f"batch / loop, per household: {rate(cold) / rate(loop):,.1f}x faster")
    per = 1e6 / cold["households"]
    print(
        f"cold batch CPU per household: {cold['cpu_process'] * per:.0f} µs Python (all "
        f"processes), {cold['cpu_database'] * per:.0f} µs database server"
    )
    if processes > 1:
        print(
            f"memory (RSS, VmHWM peak): the parent {cold['rss_start']:.0f} MiB before the cold "
            f"batch; the largest worker process {cold['rss_peak']:.0f} MiB (compare the peak at "
            "two sizes N to see that it does not grow with N)."
        )
    else:
        print(
            f"memory (RSS, VmHWM peak): {cold['rss_start']:.0f} MiB before the cold batch, "
            f"{cold['rss_after_first_tenth']:.0f} MiB after its first tenth, "
            f"{cold['rss_end']:.0f} MiB after its last of {cold['chunks']} chunks: "
            f"{cold['growth_per_chunk'] * 1024:+.0f} KiB per chunk of {chunk_size:,} after the "
            "first tenth (compare the peak at two sizes N to see that it does not grow with N)."
        )
    if cold["status"] != "done" or rerun["status"] != "done" or written(rerun):
        sys.exit("Unexpected result: a job did not finish, or the rerun wrote rows.")


if __name__ == "__main__":
    main()
