//! The command line: argument definitions, the OpenMP guard, and exit codes.
//!
//! Exit codes: 0 everything converted, 1 some page or book failed, 2 usage or configuration
//! error (bad flag, unknown or missing language, unreadable scan folder, an output folder that
//! is or overlaps the input), 3 another run holds the output folder, 4 the output folder (or a
//! book's files in it) cannot be written.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{BUILTIN_PIPELINES, Pipeline};
use crate::convert::{ConvertRequest, Job, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "kitap",
    version,
    about = "Scanned book folders in; searchable PDF, EPUB 3, OCR text and a library manifest out."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert a tree of scanned book folders (one folder = one book) into OUT/<id>/<id>.{pdf,epub,txt}
    /// (or the files --outputs names: hocr, alto, web-pdf too), OUT/manifest.json and
    /// OUT/review.html.
    #[command(
        after_help = "Exit status: 0 all pages converted (up-to-date books count), 1 some page or book failed (see stderr and the manifest), 2 usage or configuration error (including an output folder that is or overlaps the input), 3 another run holds OUT, 4 the output folder cannot be written, 130/143 stopped by SIGINT/SIGTERM.\n\
Pages: PNG, JPEG, TIFF, JPEG 2000, BMP, WebP and PNM, told by their bytes. A file that looks like a page (an image by its name or its bytes, a PDF in disguise) but cannot be read is a failed page, named on stderr (exit 1); page numbers that skip and two files for one page are warnings. Run `kitap check SCANS` first to see all of it without converting.\n\
Languages come from each book's book.toml, else --lang, else the pipeline. Codes are ISO 639 (ru/rus, kk/kaz, tk/tuk, en/eng, …), or auto (the built-in pipelines' default): the script and language are found from two of the book's pages, by the letters only that language uses, and recorded in the manifest (languages_detected).\n\
Before OCR every page is turned upright and straightened (up to 15°); a page that still reads doubtfully is tried in its other turns (orientation detection is a hint, not the verdict). A photographed page's paper is found on its dark surround and read alone. Text far larger than OCR needs is read reduced (pipeline key ocr_resolution), and a page with no ink is not read at all (blank in the manifest). The manifest records what was found.\n\
The PDF is PDF/A-2u (page images + invisible word-aligned text); the EPUB is reflowed reading text without running heads or page numbers, \
with the printed page numbers as a page list and the page image after pages read below `epub_image_below_confidence` (50).\n\
Latin and Cyrillic look-alike letters read in the wrong script (\"y\" for \"у\") are put back in the script of their word and line in every output (pipeline key repair_lookalikes).\n\
Every run ends by writing OUT/review.html: the batch for an editor, doubtful pages first (see `kitap review`).\n\
Presets (`kitap pipelines`): default, hocr, archive (originals never altered), compact (smaller PDFs), spreads (cut borders, split two-page scans), newspaper (headlines as the EPUB contents, a document per page).\n\n\
Examples:\n  \
kitap convert /srv/scans -o /srv/out                      every book; a second run redoes only what changed\n  \
kitap convert /srv/scans -o /srv/out --lang kk,ru         books whose book.toml names no languages\n  \
kitap convert /srv/scans -o /srv/out -p compact -v        smaller PDFs, a line per page\n  \
kitap convert /srv/scans -o /srv/out --outputs pdf,web-pdf,alto,txt   archive and web PDFs and ALTO from one OCR\n  \
kitap convert /srv/scans -o /srv/out -q --log-format json --min-age 30m   the nightly job\n  \
kitap convert /srv/scans -o /srv/out --shard auto         one task of a Slurm job array (then kitap merge)"
    )]
    Convert(ConvertRequest),
    /// Check SCANS before a night's convert, writing nothing: every book folder, book.toml,
    /// language and model, and every page file's header and TIFF frame (no pixels decoded, no
    /// OCR). One report per book on stdout, then a summary.
    #[command(
        after_help = "Exit status: 0 clean (warnings allowed), 1 problems (a book or page the convert would fail), 2 unusable (no such folder, no books, an unknown pipeline or language, a model not installed for --lang).\n\
Example: kitap check /srv/scans/2026-12-01 --lang kk && kitap convert /srv/scans/2026-12-01 -o /srv/out"
    )]
    Check(crate::check::CheckRequest),
    /// Check OUT before upload: the manifest against its schema, every listed file present
    /// with its size and SHA-256 and read back (PDF pages, text layer and PDF/A identification;
    /// EPUB container, nav, identifier and title; text page chunks), no unlisted file, statuses
    /// and summary consistent, metadata rules (ISBN, year, languages, title, authors).
    #[command(
        after_help = "Exit status: 0 clean (warnings allowed unless --strict), 1 problems found, 2 the manifest cannot be read (absent, not JSON, or written by a newer kitap).\n\n\
Examples:\n  \
kitap validate /srv/out                                  a readable report\n  \
kitap validate /srv/out --json | jq '.problems[] | select(.severity == \"error\")'"
    )]
    Validate(ValidateArgs),
    /// Write OUT/review.html from OUT's manifest (convert writes it after every run): the
    /// batch's counts, the pages to look at first, every book and page with its thumbnail,
    /// confidence and flags. No OCR, no network; open it from disk or any static web server.
    /// With --approve, first records that an editor looked at a book and lets it go.
    #[command(
        after_help = "Exit status: 0 written, 2 the manifest cannot be read (or --approve names no book that can be approved), 3 another run holds OUT, 4 OUT cannot be written.\n\
Examples:\n  \
kitap review /srv/out && xdg-open /srv/out/review.html\n  \
kitap review /srv/out --approve kz-0001 --by \"A. Editor\"\n\
An upload script takes a book when `needs_review` is false or it is `approved`:\n  jq -r '.books[] | select(.status != \"failed\" and ((.needs_review | not) or .approved)) | .id' OUT/manifest.json"
    )]
    Review(ReviewArgs),
    /// Turn OUT's manifest into what other systems take: MARC21 XML for Koha, an OPDS
    /// catalog, a printable virtual shelf with QR codes, DSpace packages. Reads only the
    /// manifest and OUT; writes into OUT/export/ unless -o says otherwise.
    #[command(
        after_help = "Only books whose status is ok or partial are exported (a partial one with a note saying how many pages are missing); failed books are named on stderr.\n\
Links are --base-url (where OUT is served) followed by the file's path in OUT, each segment percent-encoded (ids may be Cyrillic).\n\
Exit status: 0 every ok/partial book exported, 1 some book left out (a file missing from OUT, a letter no font has), 2 usage error or no readable manifest, 3 another run holds OUT, 4 an export file cannot be written.\n\n\
Examples:\n  \
kitap export marc /srv/out --base-url https://elib.example.kz/books/ --org-code KzAlNL\n  \
kitap export opds /srv/out --base-url https://elib.example.kz/books/\n  \
kitap export shelf /srv/out --base-url https://elib.example.kz/books/\n  \
kitap export saf /srv/out -o /srv/dspace/import --link"
    )]
    Export(ExportArgs),
    /// Join the manifest parts of a sharded run (`kitap convert --shard K/N` on a Slurm job
    /// array or a Kubernetes Indexed Job) into OUT/manifest.json and OUT/review.html: books
    /// sorted by id, one record per book, the summary recomputed. The result equals the
    /// manifest of one unsharded run over the same scans, but for run times.
    #[command(
        after_help = "Each part (OUT/.kitap/shards/K-of-N.json) replaces what OUT/manifest.json said about the books of its shard; parts older than the manifest were merged already. A shard of N without a finished part (never ran, still running, stopped or killed, or of another --run) keeps what the manifest said and is named on stderr; the manifest says incomplete: true and lists missing_shards.\n\
Exit status: 0 every shard merged, 1 shards missing (the manifest is still written), 2 no parts to merge, or parts of different kitap versions or pipelines (named; nothing written), 3 another run holds OUT, 4 OUT cannot be written.\n\n\
Example (Slurm; deploy/slurm/kitap-array.sbatch does both):\n  \
sbatch --array=0-7 --wrap 'kitap convert /srv/scans -o /srv/out --shard auto'\n  \
kitap merge /srv/out"
    )]
    Merge(crate::merge::MergeRequest),
    /// List the built-in pipelines.
    Pipelines,
    /// Print a shell completion script: `kitap completions bash > /etc/bash_completion.d/kitap`,
    /// `kitap completions zsh > "${fpath[1]}/_kitap"`, `kitap completions fish >
    /// ~/.config/fish/completions/kitap.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print kitap's manual page (roff): `kitap man > /usr/local/share/man/man1/kitap.1`, or
    /// `kitap man | man -l -`.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// OUT, or the path of its manifest.json.
    pub path: std::path::PathBuf,
    /// One JSON document on stdout (`problems[]` with book, path, code, message, severity).
    #[arg(long)]
    pub json: bool,
    /// Warnings count as problems for the exit status.
    #[arg(long)]
    pub strict: bool,
    /// Files hashed and read in parallel. Default: all cores.
    #[arg(short, long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// OUT: the output folder of a convert run.
    pub out: std::path::PathBuf,
    /// Record that an editor looked at book ID's current generation and lets it go (repeat
    /// for several books). A new generation of the book starts unapproved.
    #[arg(long, value_name = "ID")]
    pub approve: Vec<String>,
    /// Withdraw the approval of book ID.
    #[arg(long, value_name = "ID")]
    pub revoke: Vec<String>,
    /// The editor's name, recorded with an approval.
    #[arg(long, value_name = "NAME", env = "KITAP_EDITOR")]
    pub by: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub format: ExportFormat,
}

#[derive(Debug, Subcommand)]
pub enum ExportFormat {
    /// MARC21 slim XML (a <collection>, one <record> per book) for Koha's staged import
    /// (Tools → Stage MARC records for import, format MARCXML). Default OUT/export/marc.xml.
    #[command(
        after_help = "Each record: leader for electronic language material; 001 the book id, 003 --org-code, 005, 006/007 online resource, 008 (year, language, form of item o); 020 ISBN; 041 languages; 100/700 authors; 245 title ($n an issue number); 264 place, publisher, year as written or an issue date; 300 pages; 336/337/338 RDA text/computer/online resource; 347 file types; 490 series ; volume; 500 OCR note with its mean confidence; 533 electronic reproduction (--agency, when converted); 540 rights; 650 subjects; 856 40 per PDF/EPUB (URL, media type, size); 942 $c --koha-item-type; 999 $c book.toml's koha_biblionumber, so the import overlays the record Koha already has (matching rule KohaBiblio)."
    )]
    Marc(MarcArgs),
    /// OPDS 1.2 catalog (Atom): a root navigation feed, an acquisition feed of all books
    /// paginated by --per-page, language facets, a cover and thumbnail per book. Default
    /// OUT/export/opds/ (it must be inside OUT: its links are --base-url plus its path).
    Opds(OpdsArgs),
    /// A printable virtual shelf: A4 pages of cover, title, author and a QR code per book
    /// (default 3 × 4 a page), and OUT/<id>/<id>.qr.svg and .qr.png. Default OUT/export/shelf.pdf.
    Shelf(ShelfArgs),
    /// DSpace Simple Archive Format: one item folder per book (dublin_core.xml, contents, the
    /// PDF, EPUB and text), for `dspace import --add`. Default OUT/export/saf/.
    #[command(
        after_help = "dublin_core.xml: dc.title, dc.contributor.author, dc.date.issued (an issue date, else the first year), dc.relation.ispartofseries (series; volume), dc.publisher, dc.identifier.isbn, dc.identifier.other (the book id, book.toml's identifier), dc.language.iso (ISO 639-1 where there is one), dc.subject, dc.rights, dc.type Book, dc.format.extent (pages), dc.description (book.toml's; what a partial book lacks), dc.description.provenance (kitap version, conversion time, OCR note with the mean confidence).\n\
contents: the PDF (primary bitstream), EPUB and text, bundle ORIGINAL. Item folders are named after the book id (ASCII; a short hash where the id is not), the same every export, so DSpace's mapfile from the first import serves `dspace import --replace`.\n\
The folder is built beside DIR and swapped in whole: the previous archive goes, books no longer exported with it. DIR must be new, empty or an earlier `kitap export saf` archive (marked by .kitap-saf): keep DSpace's mapfile outside it."
    )]
    Saf(SafArgs),
}

/// What every export takes.
#[derive(Debug, clap::Args)]
pub struct ExportCommon {
    /// OUT: the output folder of a convert run.
    pub out: std::path::PathBuf,
    /// Only books that need no review or that an editor approved (`kitap review --approve`).
    #[arg(long)]
    pub reviewed_only: bool,
    /// Wait up to DURATION (e.g. 30m) for a convert run that holds OUT, instead of exit 3.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub wait_lock: Option<std::time::Duration>,
}

/// Where OUT will be served: what every link of an export starts with.
#[derive(Debug, clap::Args)]
pub struct Served {
    /// Where OUT will be served, e.g. https://elib.example.kz/books/
    #[arg(long, value_name = "URL")]
    pub base_url: String,
}

#[derive(Debug, clap::Args)]
pub struct MarcArgs {
    #[command(flatten)]
    pub common: ExportCommon,
    #[command(flatten)]
    pub served: Served,
    /// The MARC file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// The library's MARC organisation code (003, 040), e.g. KzAlNL.
    #[arg(long, value_name = "CODE")]
    pub org_code: Option<String>,
    /// Koha's item type for the records (942 $c), e.g. EBOOK.
    #[arg(long, value_name = "TYPE")]
    pub koha_item_type: Option<String>,
    /// Who digitized the books, for the reproduction note (533 $c). Default: --org-code.
    #[arg(long, value_name = "NAME")]
    pub agency: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct OpdsArgs {
    #[command(flatten)]
    pub common: ExportCommon,
    #[command(flatten)]
    pub served: Served,
    /// The catalog's folder (inside OUT).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<std::path::PathBuf>,
    /// Entries per acquisition feed page.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub per_page: u32,
    /// The catalog's title.
    #[arg(long, default_value = "kitap catalog")]
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QrTarget {
    Epub,
    Pdf,
    Opds,
}

#[derive(Debug, clap::Args)]
pub struct ShelfArgs {
    #[command(flatten)]
    pub common: ExportCommon,
    #[command(flatten)]
    pub served: Served,
    /// The shelf PDF to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// What a book's QR code opens (opds: its entry in the catalog `kitap export opds` wrote
    /// into OUT/export/opds/).
    #[arg(long, value_enum, default_value_t = QrTarget::Epub)]
    pub qr_target: QrTarget,
    /// Books per page, COLUMNSxROWS.
    #[arg(long, default_value = "3x4", value_name = "CxR")]
    pub grid: String,
    /// The heading printed on every page.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// A TrueType font with every letter of the titles. Default: DejaVu Sans (Debian
    /// fonts-dejavu-core).
    #[arg(long, value_name = "FILE")]
    pub font: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SafArgs {
    #[command(flatten)]
    pub common: ExportCommon,
    /// The archive's folder (one item folder per book inside), replaced whole by each export.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<std::path::PathBuf>,
    /// Hard-link the bitstreams to OUT's files instead of copying them (DIR on OUT's
    /// filesystem): no second copy of every PDF, EPUB and text.
    #[arg(long)]
    pub link: bool,
}

/// `kitap export FORMAT OUT`: the batch opened under OUT's lock, the export written, left-out
/// books and problems on stderr, the file written on stdout.
fn export(args: &ExportArgs) -> ExitCode {
    use crate::export::{self, Batch, Selection};
    let common = match &args.format {
        ExportFormat::Marc(a) => &a.common,
        ExportFormat::Opds(a) => &a.common,
        ExportFormat::Shelf(a) => &a.common,
        ExportFormat::Saf(a) => &a.common,
    };
    let selection = Selection {
        reviewed_only: common.reviewed_only,
        wait_lock: common.wait_lock,
    };
    // A bad option is said before anything is read or locked.
    let base_url = match &args.format {
        ExportFormat::Marc(a) => Some(&a.served.base_url),
        ExportFormat::Opds(a) => Some(&a.served.base_url),
        ExportFormat::Shelf(a) => Some(&a.served.base_url),
        ExportFormat::Saf(_) => None,
    };
    if let Some(Err(e)) = base_url.map(|u| export::BaseUrl::parse(u)) {
        eprintln!("kitap: {e}");
        return ExitCode::from(e.exit_code());
    }
    let batch = match Batch::open(&common.out, selection) {
        Ok(batch) => batch,
        Err(e) => {
            eprintln!("kitap: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let outcome = match &args.format {
        ExportFormat::Marc(a) => export::marc::export(&batch, a),
        ExportFormat::Opds(a) => export::opds::export(&batch, a),
        ExportFormat::Shelf(a) => export::shelf::export(&batch, a),
        ExportFormat::Saf(a) => export::saf::export(&batch, a),
    };
    for line in &batch.left_out {
        eprintln!("kitap: {line}");
    }
    match outcome {
        Ok(outcome) => {
            for line in &outcome.problems {
                eprintln!("kitap: {line}");
            }
            for line in &outcome.warnings {
                eprintln!("kitap: warning: {line}");
            }
            println!("{} ({} book(s))", outcome.written.display(), outcome.books);
            if batch.unusable > 0 || !outcome.problems.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("kitap: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Tesseract's OpenMP threads fight rayon's workers (a page took 14.7 s instead of 1.5 s), and
/// OpenMP reads OMP_THREAD_LIMIT only at process start: so kitap restarts itself with it set.
/// glibc's malloc is told the same way to give every block of 16 MiB or more back to the
/// system when freed: by default it raises that threshold to the largest block freed (up to
/// 32 MiB), after which each worker's arena keeps the page buffers it freed, and a run of 30 MP
/// pages under `--max-memory 520M` at `--jobs 2` peaked at 557 MiB instead of ~300. Not lower:
/// at 4 MiB every buffer of a 300-dpi page (8 MiB) and many of Tesseract's were mapped afresh
/// and unmapped each time, and a fixed threshold also fixes the trim threshold at 128 KiB, so
/// each arena kept handing its top back and faulting it in again: 2.3 times the page faults,
/// and every unmapping interrupts the other worker's core to flush its TLB. The trim threshold
/// is set to 16 MiB alike.
fn ensure_process_environment() {
    const FIXED: [(&str, &str); 3] = [
        ("OMP_THREAD_LIMIT", "1"),
        ("MALLOC_MMAP_THRESHOLD_", "16777216"),
        ("MALLOC_TRIM_THRESHOLD_", "16777216"),
    ];
    let missing: Vec<(&str, &str)> = FIXED
        .into_iter()
        .filter(|(key, _)| std::env::var_os(key).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if let Ok(exe) = std::env::current_exe() {
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .envs(missing)
                .exec();
            eprintln!(
                "kitap: warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR will be slow"
            );
        }
    }
}

/// A run that stops before or outside the books: one line (or one `run_failed` event).
fn fatal(format: LogFormat, msg: &str, code: u8) -> ExitCode {
    match format {
        LogFormat::Plain => eprintln!("kitap: {msg}"),
        LogFormat::Json => eprintln!(
            "{}",
            crate::convert::report::json_line(
                "error",
                "run_failed",
                serde_json::json!({ "message": msg, "exit_code": code }),
            )
        ),
    }
    ExitCode::from(code)
}

/// `kitap validate`: the problems grouped by book, then a summary line (or one JSON document).
fn validate(args: &ValidateArgs) -> ExitCode {
    use crate::validate::{Options, Problem};
    let (out, path) = if args.path.is_dir() {
        (args.path.clone(), args.path.join("manifest.json"))
    } else {
        let out = args.path.parent().map(std::path::Path::to_path_buf);
        (out.unwrap_or_default(), args.path.clone())
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options = Options {
        jobs: args.jobs.map_or(cores, |j| j as usize),
        this_year: time::OffsetDateTime::now_utc().year(),
    };
    let json = |books: usize, errors: usize, warnings: usize, problems: &[Problem]| {
        let doc = serde_json::json!({
            "manifest": path.display().to_string(),
            "books": books,
            "errors": errors,
            "warnings": warnings,
            "problems": problems,
        });
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{doc:#}");
    };
    let report = match crate::validate::run(&out, &path, options) {
        Ok(r) => r,
        Err(problem) => {
            eprintln!("kitap: {problem}");
            if args.json {
                json(0, 1, 0, std::slice::from_ref(&problem));
            }
            return ExitCode::from(2);
        }
    };
    let (errors, warnings) = (report.errors(), report.warnings());
    if args.json {
        json(report.books, errors, warnings, &report.problems);
    } else {
        // Written, not println!: a reader that stops early (`| head`) is no panic.
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let lines = report
            .problems
            .iter()
            .map(ToString::to_string)
            .chain([format!(
                "kitap validate: {} book(s), {errors} error(s), {warnings} warning(s) in {}",
                report.books,
                path.display()
            )]);
        for line in lines {
            if writeln!(stdout, "{line}").is_err() {
                break;
            }
        }
    }
    if errors > 0 || (args.strict && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `kitap merge OUT`: the shards' parts joined into the manifest, and what is missing said.
fn merge(req: &crate::merge::MergeRequest) -> ExitCode {
    match crate::merge::merge(req) {
        Ok(m) => {
            for (shard, why) in &m.missing {
                eprintln!("kitap: shard {shard} missing: {why}");
            }
            if !req.quiet {
                for name in &m.removed {
                    eprintln!(
                        "kitap: removed {name}: merged, a part of a run with another number of shards"
                    );
                }
                if let crate::merge::Review::TooLarge(bytes) = m.review {
                    eprintln!(
                        "kitap: review.html not written: the manifest ({} MiB) is too large for one page (the old page was removed)",
                        bytes >> 20
                    );
                }
                let s = &m.summary;
                eprintln!(
                    "kitap merge: {} of {} shard(s) merged ({} part(s) read: new since the last merge); {} book(s): {} ok, {} partial, {} failed; {} page(s), {} failed → {}{}",
                    m.shards as usize - m.missing.len(),
                    m.shards,
                    m.applied.len(),
                    s.books,
                    s.books_ok,
                    s.books_partial,
                    s.books_failed,
                    s.pages,
                    s.pages_failed,
                    m.manifest_path.display(),
                    if matches!(m.review, crate::merge::Review::Written(_)) {
                        " and review.html"
                    } else {
                        ""
                    },
                );
            }
            ExitCode::from(m.exit_code())
        }
        Err(e) => {
            eprintln!("kitap: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `kitap review OUT`: review.html from the manifest alone; with `--approve`/`--revoke`, an
/// editor's sign-off recorded first.
fn review(args: &ReviewArgs) -> ExitCode {
    if !args.approve.is_empty() || !args.revoke.is_empty() {
        return match crate::review::approve(
            &args.out,
            &args.approve,
            &args.revoke,
            args.by.as_deref(),
        ) {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kitap: {e}");
                ExitCode::from(e.exit_code())
            }
        };
    }
    match crate::review::remake(&args.out) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kitap: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// kitap(1): the command, then a section per subcommand with its options and notes.
fn man_page(cmd: clap::Command, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = sub.get_name().to_string();
        let sub = sub.clone().name(format!("kitap {name}"));
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub);
        man.render_name_section(&mut section)?;
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        man.render_extra_section(&mut section)?;
        // Each subcommand under a heading of its own, not a second NAME section.
        let text = String::from_utf8_lossy(&section).replace(
            ".SH NAME",
            &format!(".SH \"KITAP {}\"", name.to_uppercase()),
        );
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Pipelines => {
            for (name, _) in BUILTIN_PIPELINES {
                match Pipeline::resolve(name) {
                    Ok(p) => println!("{name:<10} {}", p.description),
                    Err(e) => println!("{name:<10} (broken: {e})"),
                }
            }
            ExitCode::SUCCESS
        }
        Command::Validate(args) => validate(&args),
        Command::Review(args) => review(&args),
        Command::Export(args) => export(&args),
        Command::Merge(req) => merge(&req),
        Command::Check(req) => crate::check::run(&req),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "kitap", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match man_page(cmd, &mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                // `kitap man | head`: the reader has all it wanted.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kitap: cannot write the manual page: {e}");
                    ExitCode::from(4)
                }
            }
        }
        Command::Convert(req) => {
            ensure_process_environment();
            let job = match Job::build(&req) {
                Ok(j) => j,
                Err(e) => return fatal(req.log_format, &e.to_string(), e.exit_code()),
            };
            match crate::convert::run(job) {
                Ok(summary) => ExitCode::from(summary.exit_code()),
                // The run could not write OUT's own files (the manifest, the staging folder).
                Err(e) => fatal(req.log_format, &format!("{}: {e}", req.out.display()), 4),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The words of an example command line: split at spaces, 'single' and "double" quotes
    /// kept together; the comment after two spaces left out.
    fn example_words(line: &str) -> Vec<String> {
        let command = line.trim().split("  ").next().unwrap_or("");
        let (mut words, mut word, mut quote) = (Vec::new(), String::new(), None);
        for c in command.chars() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, ' ') => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
                _ => word.push(c),
            }
        }
        words.extend((!word.is_empty()).then_some(word));
        words
    }

    /// Every `kitap …` example in every subcommand's help parses as the command line it shows
    /// (up to a pipe or `&&`): an example that drifts from the options fails here.
    #[test]
    fn every_example_in_the_help_parses() {
        let mut cli = Cli::command();
        let mut examples = Vec::new();
        for sub in cli.get_subcommands_mut() {
            let help = sub.render_long_help().to_string();
            for line in help.lines() {
                let line = line.trim_start();
                if line.starts_with("kitap ") {
                    let line = line.split(['|', '&']).next().unwrap_or(line);
                    examples.push(line.to_string());
                }
            }
        }
        assert!(examples.len() >= 12, "{examples:?}");
        for e in &examples {
            let words = example_words(e);
            if let Err(err) = Cli::try_parse_from(&words) {
                panic!("{e}: {err}");
            }
        }
    }
}
