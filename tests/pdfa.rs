//! The archival PDF's PDF/A-2u properties: a real conversion passes every check of
//! `common::pdfa`, and breaking any one property makes its check fire, while the same file
//! only re-saved passes (a checker that cannot fail would prove nothing).

mod common;

use std::path::{Path, PathBuf};

use common::pdfa::pdfa_violations;
use common::*;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// A Ukrainian JPEG page, an English PNG page, a broken file (a placeholder page) and a bitonal
/// G4 page, with a book.toml that exercises every metadata field the Info dictionary and the XMP
/// share: converted once.
struct Sample {
    dir: PathBuf,
    run: Run,
}

fn sample() -> Option<&'static Sample> {
    static SAMPLE: Shared<Option<Sample>> = Shared::new();
    SAMPLE
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("pdfa-sample");
            let book = dir.join("scans/кобзар-1");
            std::fs::create_dir_all(&book).unwrap();
            for (from, to) in [
                ("sample-scans/ukr-seed/0001.jpg", "0001.jpg"),
                ("sample-scans/eng-seed/0001.png", "0002.png"),
                ("sample-scans-bad/truncated.tif", "0003_зламаний.tif"),
                ("sample-scans/eng-bitonal-g4/0001.tif", "0004.tif"),
            ] {
                std::fs::copy(shared.join(from), book.join(to)).unwrap();
            }
            std::fs::write(
                book.join("book.toml"),
                r#"title = "Кобзар: вибране & <інше>"
authors = ["Тарас Шевченко", "Ivan Franko"]
languages = ["ukr", "eng"]
subjects = ["поезія", "XIX ст."]
publisher = "Дніпро"
year = 1840
rights = "public domain"
[[chapters]]
title = "Думи мої"
page = 2
"#,
            )
            .unwrap();
            let run = Kitap::convert(&dir.join("scans"))
                .out(&dir.join("out"))
                .arg("--quiet")
                .run();
            Some(Sample { dir, run })
        })
        .as_ref()
}

impl Sample {
    fn pdf(&self) -> PathBuf {
        self.run.file("кобзар-1", "pdf")
    }

    /// Re-saves the PDF through lopdf after `f` and returns what the checks find in it.
    fn violations_after(&self, f: &dyn Fn(&mut Document), name: &str) -> Vec<String> {
        let mut doc = Document::load(self.pdf()).unwrap();
        f(&mut doc);
        let out = self.mutant(name);
        doc.save(&out).unwrap();
        pdfa_violations(&out)
    }

    /// Where the mutation `name` is written.
    fn mutant(&self, name: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.pdf",
            name.replace(|c: char| !c.is_alphanumeric(), "-")
        ))
    }
}

fn first_with(doc: &Document, pred: impl Fn(&Dictionary) -> bool) -> ObjectId {
    *doc.objects
        .iter()
        .find(|(_, o)| match o {
            Object::Dictionary(d) => pred(d),
            Object::Stream(s) => pred(&s.dict),
            _ => false,
        })
        .map(|(id, _)| id)
        .expect("an object to mutate")
}

fn dict_mut(doc: &mut Document, id: ObjectId) -> &mut Dictionary {
    match doc.get_object_mut(id).unwrap() {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &mut s.dict,
        o => panic!("not a dictionary: {o:?}"),
    }
}

fn is(d: &Dictionary, key: &[u8], value: &[u8]) -> bool {
    d.get(key)
        .and_then(Object::as_name)
        .is_ok_and(|n| n == value)
}

fn metadata_id(doc: &Document) -> ObjectId {
    doc.catalog()
        .unwrap()
        .get(b"Metadata")
        .unwrap()
        .as_reference()
        .unwrap()
}

fn edit_xmp(doc: &mut Document, f: impl Fn(String) -> String) {
    let id = metadata_id(doc);
    let s = doc.get_object_mut(id).unwrap().as_stream_mut().unwrap();
    let xmp = f(String::from_utf8(s.content.clone()).unwrap());
    s.set_plain_content(xmp.into_bytes());
}

fn info_id(doc: &Document) -> ObjectId {
    doc.trailer.get(b"Info").unwrap().as_reference().unwrap()
}

fn image_id(doc: &Document) -> ObjectId {
    first_with(doc, |d| is(d, b"Subtype", b"Image"))
}

/// Page 1's first shown string gets its first code replaced by `code`.
fn set_first_code(doc: &mut Document, code: [u8; 2]) {
    let page = doc.get_pages()[&1];
    let content_id = doc.get_page_contents(page)[0];
    let s = doc
        .get_object_mut(content_id)
        .unwrap()
        .as_stream_mut()
        .unwrap();
    let mut content = lopdf::content::Content::decode(&s.decompressed_content().unwrap()).unwrap();
    let op = content
        .operations
        .iter_mut()
        .find(|op| op.operator == "Tj")
        .expect("a word on page 1");
    let text = op.operands[0].as_str_mut().unwrap();
    text[..2].copy_from_slice(&code);
    s.set_plain_content(content.encode().unwrap());
}

type Mutation = (&'static str, &'static str, fn(&mut Document));

const MUTATIONS: &[Mutation] = &[
    ("strip the trailer /ID", "trailer: no /ID", |d| {
        d.trailer.remove(b"ID");
    }),
    (
        "drop the ToUnicode map",
        "fonts: GlyphLessFont has no ToUnicode",
        |d| {
            let id = first_with(d, |x| is(x, b"Subtype", b"Type0"));
            dict_mut(d, id).remove(b"ToUnicode");
        },
    ),
    (
        "unembed the font program",
        "fonts: GlyphLessFont is not embedded",
        |d| {
            let id = first_with(d, |x| is(x, b"Type", b"FontDescriptor"));
            dict_mut(d, id).remove(b"FontFile2");
        },
    ),
    (
        "widen the glyphs in the PDF only",
        "fonts: glyph widths in the PDF differ",
        |d| {
            let id = first_with(d, |x| is(x, b"Subtype", b"CIDFontType2"));
            dict_mut(d, id).set("DW", 600);
        },
    ),
    (
        "show a glyph that maps to U+FEFF",
        "maps to U+0000/U+FEFF/U+FFFE",
        |d| {
            set_first_code(d, [0xfe, 0xff]);
        },
    ),
    (
        "compress the XMP",
        "xmp: the metadata stream is compressed",
        |d| {
            let id = metadata_id(d);
            let s = d.get_object_mut(id).unwrap().as_stream_mut().unwrap();
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut z, &s.content).unwrap();
            s.set_content(z.finish().unwrap());
            s.dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        },
    ),
    ("remove pdfaid:part", "xmp: pdfaid:part is not 2", |d| {
        edit_xmp(d, |x| x.replace("<pdfaid:part>2</pdfaid:part>", ""))
    }),
    (
        "claim conformance B",
        "xmp: pdfaid:conformance is not U",
        |d| {
            edit_xmp(d, |x| {
                x.replace("<pdfaid:conformance>U<", "<pdfaid:conformance>B<")
            })
        },
    ),
    ("change the Info title only", "info/xmp: /Title", |d| {
        let id = info_id(d);
        dict_mut(d, id).set("Title", Object::string_literal("Other"));
    }),
    (
        "split dc:creator into two entries",
        "info/xmp: /Author",
        |d| {
            edit_xmp(d, |x| {
                x.replace(
                    "<rdf:li>Тарас Шевченко; Ivan Franko</rdf:li>",
                    "<rdf:li>Тарас Шевченко</rdf:li><rdf:li>Ivan Franko</rdf:li>",
                )
            })
        },
    ),
    (
        "change the XMP creation date only",
        "info/xmp: /CreationDate",
        |d| {
            edit_xmp(d, |x| {
                let i = x.find("<xmp:CreateDate>").unwrap() + "<xmp:CreateDate>".len();
                format!("{}1999{}", &x[..i], &x[i + 4..])
            })
        },
    ),
    (
        "remove the document /Lang",
        "lang: the catalog has no /Lang",
        |d| {
            d.catalog_mut().unwrap().remove(b"Lang");
        },
    ),
    (
        "remove the OutputIntents",
        "output intent: the catalog has no /OutputIntents",
        |d| {
            d.catalog_mut().unwrap().remove(b"OutputIntents");
        },
    ),
    (
        "declare the profile CMYK",
        "output intent: profile /N",
        |d| {
            let id = first_with(d, |x| x.has(b"N") && x.has(b"Range"));
            dict_mut(d, id).set("N", 4);
        },
    ),
    ("store an image as DeviceCMYK", "colour: image", |d| {
        let id = image_id(d);
        dict_mut(d, id).set("ColorSpace", Object::Name(b"DeviceCMYK".to_vec()));
    }),
    ("give an image a soft mask", "transparency: image", |d| {
        let id = image_id(d);
        dict_mut(d, id).set("SMask", Object::Reference(id));
    }),
    ("ask for interpolation", "images: image", |d| {
        let id = image_id(d);
        dict_mut(d, id).set("Interpolate", true);
    }),
    ("add a transparency group", "transparency: page", |d| {
        let page = d.get_pages()[&1];
        let mut g = Dictionary::new();
        g.set("S", Object::Name(b"Transparency".to_vec()));
        dict_mut(d, page).set("Group", g);
    }),
    (
        "add an open action script",
        "actions: the catalog has /AA",
        |d| {
            d.catalog_mut().unwrap().set("AA", Dictionary::new());
        },
    ),
    ("make a page 20,000 pt wide", "limits: page 1 is", |d| {
        let page = d.get_pages()[&1];
        let mb: Vec<Object> = vec![0.into(), 0.into(), 20000.into(), 800.into()];
        dict_mut(d, page).set("MediaBox", mb);
    }),
    ("declare 3 bits per component", "images: image", |d| {
        let id = first_with(d, |x| {
            is(x, b"Subtype", b"Image") && is(x, b"Filter", b"FlateDecode")
        });
        dict_mut(d, id).set("BitsPerComponent", 3);
    }),
    ("give a G4 image the wrong width", "images: CCITT", |d| {
        let id = first_with(d, |x| is(x, b"Filter", b"CCITTFaxDecode"));
        let cols = match dict_mut(d, id).get(b"DecodeParms").unwrap() {
            Object::Dictionary(p) => p.get(b"Columns").unwrap().as_i64().unwrap(),
            o => panic!("DecodeParms {o:?}"),
        };
        dict_mut(d, id).set("Width", cols + 8);
    }),
    ("index past the palette", "images: Indexed", |d| {
        let id = image_id(d);
        let cs: Vec<Object> = vec![
            Object::Name(b"Indexed".to_vec()),
            Object::Name(b"DeviceGray".to_vec()),
            300.into(),
            Object::string_literal(vec![0u8; 301]),
        ];
        dict_mut(d, id).set("ColorSpace", cs);
    }),
];

/// Byte-level mutations: the ones lopdf would repair or refuse to read.
fn byte_mutations(pdf: &[u8]) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let replace = |from: &[u8], to: &[u8]| {
        let i = pdf
            .windows(from.len())
            .position(|w| w == from)
            .expect("the bytes to replace");
        [&pdf[..i], to, &pdf[i + from.len()..]].concat()
    };
    // The trailer dictionary sits after the cross-reference table: growing it moves no object.
    let encrypted = replace(b"/ID [", b"/Encrypt << /Filter /Standard /V 1 >> /ID [");
    vec![
        (
            "no binary comment",
            "header: no binary comment",
            replace(b"%\x80\x81\x82\x83", b"%abcd"),
        ),
        ("data after %%EOF", "eof:", [pdf, b"junk\n"].concat()),
        ("encrypt", "trailer: the file is encrypted", encrypted),
    ]
}

#[test]
fn the_sample_book_converts_with_exit_1_for_its_broken_page() {
    let Some(s) = sample() else { return };
    s.run.code(1);
}

/// kitap validate reads the same PDF (a placeholder page among scans) and passes it.
#[test]
fn the_sample_out_passes_kitap_validate() {
    let Some(s) = sample() else { return };
    kitap_validate_clean(&s.run.out);
}

#[test]
fn the_sample_pdf_passes_qpdf_and_the_pdfa_checks() {
    let Some(s) = sample() else { return };
    check_pdf(&s.pdf());
}

/// The placeholder page names the broken file in searchable Unicode.
#[test]
fn the_placeholder_page_names_the_broken_file_in_unicode() {
    let Some(s) = sample() else { return };
    let text = tool_ok(
        "pdftotext",
        &["-f", "3", "-l", "3", s.pdf().to_str().unwrap(), "-"],
    );
    assert!(text.contains("0003_зламаний.tif"), "{text}");
}

/// The placeholder is drawn without any unembedded font: the PDF has one font, embedded.
#[test]
fn the_pdf_has_one_font_embedded() {
    let Some(s) = sample() else { return };
    let fonts = tool_ok("pdffonts", &[s.pdf().to_str().unwrap()]);
    assert_eq!(fonts.lines().count(), 3, "one font, embedded:\n{fonts}");
}

/// Control: a file only re-saved by lopdf still passes, so every failure of a mutation below
/// is the mutation's.
#[test]
fn the_pdf_only_resaved_by_lopdf_passes() {
    let Some(s) = sample() else { return };
    let control = s.violations_after(&|_| {}, "control");
    assert!(control.is_empty(), "re-saved unchanged: {control:?}");
}

/// Asserts that each (name, expected violation, violations found) found its violation.
fn all_caught(results: &[(String, String, Vec<String>)]) {
    let mut missed = Vec::new();
    for (name, expect, found) in results {
        eprintln!("{name}: {found:?}");
        if !found.iter().any(|v| v.contains(expect.as_str())) {
            missed.push(format!("{name}: expected {expect:?}, got {found:?}"));
        }
    }
    assert!(
        missed.is_empty(),
        "checks that did not fire:\n{}",
        missed.join("\n")
    );
}

#[test]
fn each_check_catches_its_breach_in_the_objects() {
    let Some(s) = sample() else { return };
    let results: Vec<(String, String, Vec<String>)> = par_map(MUTATIONS, |(name, expect, f)| {
        (
            name.to_string(),
            expect.to_string(),
            s.violations_after(f, name),
        )
    });
    assert_eq!(results.len(), MUTATIONS.len());
    all_caught(&results);
}

#[test]
fn each_check_catches_its_breach_in_the_bytes() {
    let Some(s) = sample() else { return };
    let bytes = std::fs::read(s.pdf()).unwrap();
    let results: Vec<(String, String, Vec<String>)> = byte_mutations(&bytes)
        .into_iter()
        .map(|(name, expect, data)| {
            let out = s.mutant(name);
            std::fs::write(&out, data).unwrap();
            (name.into(), expect.into(), pdfa_violations(&out))
        })
        .collect();
    all_caught(&results);
}

/// The embedded OutputIntent profile is icc-profiles-free's sRGB.icc, unaltered (installed by
/// scripts/install-deps.sh).
#[test]
fn the_output_profile_is_icc_profiles_free_srgb() {
    let system = std::fs::read("/usr/share/color/icc/sRGB.icc")
        .expect("icc-profiles-free installed (scripts/install-deps.sh)");
    let ours =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sRGB.icc")).unwrap();
    assert_eq!(ours, system);
}
