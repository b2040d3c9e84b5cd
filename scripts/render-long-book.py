#!/usr/bin/env python3
"""Render a long Russian test book (21 pages) for kitap's reading-EPUB tests.

What it does
    Typesets an original Russian text (written for kitap, CC0-1.0) the way a
    printed book is set: the text flows from page to page (paragraphs run
    over page turns), words are hyphenated at the right margin, chapters
    open with a bold heading on a fresh page without running header, other
    pages carry a running header (the book title on even pages, the chapter
    title on odd ones) and every page a printed number at the bottom,
    starting at 7 (front matter not scanned). Scan artefacts come from
    render-samples.py. It writes

        OUT/ru-dlinnaya-kniga/0001.png ...   pages, 8-bit grey, 300 dpi
        OUT/ru-dlinnaya-kniga/book.toml      languages
        OUT/ru-dlinnaya-kniga/gt/0001.txt    printed lines, header first and
                                             page number last
        OUT/ru-dlinnaya-kniga/truth.json     per page: header text or null,
                                             printed number, first body line,
                                             whether a chapter opens there

    Deterministic: the same files every run.

How to run
    /usr/bin/python3 scripts/render-long-book.py OUT

    Needs python3-pil and fonts-dejavu-extra (Debian), like render-samples.py.
    The book is not kept in the repository (21 pages of PNG); the tests
    render it into a temporary folder.
"""

import importlib.util
import json
import os
import random
import sys

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "render_samples", os.path.join(HERE, "render-samples.py"))
rs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rs)

BOOK_ID = "ru-dlinnaya-kniga"
TITLE = "Книги и читатели"
FIRST_FOLIO = 7
BODY_PT, HEAD_PT = 14, 19
VOWELS = set("аеёиоуыэюяАЕЁИОУЫЭЮЯ")

# Every text here was written for kitap and is released as CC0.
CHAPTERS = [
    ("Глава первая. Читальный зал", [
        "Читальный зал областной библиотеки открывается в девять часов утра, "
        "но первые читатели приходят раньше. Они ждут у дверей, обсуждают "
        "вчерашние новости и спорят о том, какая книга лучше подходит для "
        "долгой зимней дороги на северо-запад области.",
        "Библиотекарь Анна Сергеевна знает каждого из них по имени. Она "
        "помнит, кто берёт исторические романы, а кто приходит только за "
        "свежими журналами, и всегда откладывает что-то интересное для самых "
        "внимательных посетителей.",
        "Зал занимает весь второй этаж старого здания. Высокие окна выходят "
        "на площадь, и в солнечный день свет ложится на длинные дубовые "
        "столы, на зелёные лампы и на аккуратные стопки книг, приготовленных "
        "для выдачи.",
        "Летом сюда приходят студенты, которые готовятся к экзаменам, а "
        "зимой пенсионеры, которым приятно провести несколько часов в тёплом "
        "и тихом месте среди знакомых лиц и любимых авторов.",
        "Каждый год библиотека получает несколько тысяч новых изданий. Их "
        "нужно внести в каталог, снабдить шифром, расставить по полкам и "
        "рассказать о них читателям, которые ещё не знают, что именно их "
        "ждёт на соседней полке.",
    ]),
    ("Глава вторая. Каталог", [
        "Старый карточный каталог до сих пор стоит в коридоре. Его деревянные "
        "ящики хранят записи о книгах, которые поступили в библиотеку за "
        "последние семьдесят лет, и многие читатели по привычке начинают "
        "поиск именно с него.",
        "Электронный каталог появился позже. Сначала в него вносили только "
        "новые поступления, потом сотрудники шаг за шагом перенесли туда "
        "записи из карточек, проверяя каждую фамилию, каждое название и "
        "каждый год издания.",
        "Работа заняла несколько лет. Иногда выяснялось, что одна и та же "
        "книга записана трижды под разными названиями, а иногда карточка "
        "описывала издание, которое давно пропало с полки и числилось только "
        "на бумаге.",
        "Теперь любой человек может найти нужную книгу из дома, заказать её "
        "и получить на следующий день. Но многие всё-таки приходят сами, "
        "потому что разговор с библиотекарем нередко подсказывает то, о чём "
        "читатель даже не думал.",
        "Самые сложные записи касаются старых изданий на казахском, татарском "
        "и узбекском языках. Для них приходится сверять написание имён по "
        "нескольким справочникам и советоваться с коллегами из Алма-Аты и "
        "Ташкента.",
    ]),
    ("Глава третья. Оцифровка", [
        "Несколько лет назад в библиотеке появился планетарный сканер. Он "
        "фотографирует раскрытую книгу сверху, не повреждая переплёт, и "
        "позволяет сохранить даже самые хрупкие издания, которые уже нельзя "
        "выдавать на руки.",
        "Отсканированные страницы проходят распознавание текста. Программа "
        "находит строки и слова, определяет язык и собирает из отдельных "
        "страниц электронную книгу, которую можно читать с телефона в "
        "автобусе или в поезде.",
        "Распознавание не бывает совершенным. Пятна на бумаге, выцветшая "
        "краска и необычные шрифты приводят к ошибкам, поэтому сотрудники "
        "проверяют самые ценные книги вручную и исправляют то, что машина "
        "прочитала неверно.",
        "Электронные копии помогают читателям, которые живут далеко от "
        "областного центра. Учитель из маленького села может открыть "
        "краеведческий сборник, изданный небольшим тиражом полвека назад, и "
        "рассказать о нём своим ученикам.",
        "Библиотека продолжает эту работу каждый день. Впереди ещё тысячи "
        "томов, и каждый из них когда-нибудь займёт своё место в электронном "
        "фонде рядом с книгами, которые уже сегодня доступны всем.",
    ]),
]

# How often each chapter's paragraphs are set, so the book runs to 21 pages.
ROUNDS = 4


def hyphenate(word, fits):
    """Split word at the last syllable boundary whose first part plus a
    hyphen fits (fits(str) -> bool). Returns (head, tail) or None.

    A word with a hyphen of its own is broken only at that hyphen."""
    if "-" in word:
        head, tail = word.split("-", 1)
        return (head + "-", tail) if fits(head + "-") else None
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 5:
        return None
    best = None
    for i in range(2, len(word) - 2):
        left, right = word[:i], word[i:]
        if not (left[-1].isalpha() and right[0].isalpha()):
            continue
        # After a vowel, or between two consonants; never leave a lone
        # letter, a soft or hard sign or й at the start of the next line.
        if right[0] in "ьъй" or sum(c.isalpha() for c in right) < 2:
            continue
        if not any(c in VOWELS for c in left) or not any(c in VOWELS for c in right):
            continue
        if left[-1] in VOWELS or (left[-1] not in VOWELS and right[0] not in VOWELS
                                  and right[1:2] and right[1] in VOWELS):
            if fits(left + "-"):
                best = (left + "-", right)
    return best


def break_hyphenated(words, fnt, first_width, width):
    lines, cur = [], []
    space = fnt.getlength(" ")
    queue = list(words)
    while queue:
        word = queue.pop(0)
        limit = first_width if not lines else width
        used = sum(fnt.getlength(x) for x in cur) + space * len(cur)
        if used + fnt.getlength(word) <= limit:
            cur.append(word)
            continue
        split = hyphenate(word, lambda s: used + fnt.getlength(s) <= limit)
        if split:
            cur.append(split[0])
            queue.insert(0, split[1])
        else:
            queue.insert(0, word)
        lines.append(cur)
        cur = []
    if cur:
        lines.append(cur)
    return lines


def layout():
    """The book as a list of pages: each a list of (kind, text) lines, plus
    the chapter title it belongs to and whether a chapter opens there."""
    body = rs.font("regular", BODY_PT)
    head = rs.font("bold", HEAD_PT)
    width = rs.PAGE_W - rs.MARGIN_INNER - rs.MARGIN_OUTER
    indent = 70
    lead = round(BODY_PT * rs.DPI / 72 * 1.4)
    per_page = (rs.PAGE_H - rs.MARGIN_TOP - rs.MARGIN_BOTTOM) // lead
    pages = []
    for title, paras in CHAPTERS:
        lines = [("heading", ln) for ln in
                 (" ".join(w) for w in break_hyphenated(title.split(), head, width, width))]
        lines.append(("gap", ""))
        for r in range(ROUNDS):
            for p in paras:
                for i, ws in enumerate(break_hyphenated(p.split(), body, width - indent, width)):
                    lines.append(("first" if i == 0 else "line", " ".join(ws)))
        opening = True
        while lines:
            room = per_page - (3 if opening else 0)
            pages.append({"chapter": title, "opens": opening, "lines": lines[:room]})
            lines = lines[room:]
            opening = False
    return pages


def typeset(page_no, page, mask, rng):
    draw = ImageDraw.Draw(mask)
    body = rs.font("regular", BODY_PT)
    head = rs.font("bold", HEAD_PT)
    lead = round(BODY_PT * rs.DPI / 72 * 1.4)
    recto = page_no % 2 == 1
    left = (rs.MARGIN_INNER if recto else rs.MARGIN_OUTER) + rng.randint(-10, 10)
    right = rs.PAGE_W - (rs.MARGIN_OUTER if recto else rs.MARGIN_INNER)
    dy = rng.randint(-8, 8)
    centre = (left + right) / 2
    printed = []
    header = None
    if not page["opens"]:
        header = TITLE if page_no % 2 == 0 else page["chapter"].split(". ", 1)[-1]
        fnt = rs.font("italic", 9)
        draw.text((round(centre - fnt.getlength(header) / 2), rs.MARGIN_TOP - 80 + dy),
                  header, font=fnt, fill=255, anchor="ls")
        printed.append(header)
    y = rs.MARGIN_TOP + dy + (120 if page["opens"] else 0)
    for kind, text in page["lines"]:
        if kind == "gap":
            y += lead
            continue
        fnt = head if kind == "heading" else body
        if kind == "heading":
            x = centre - fnt.getlength(text) / 2
        else:
            x = left + (70 if kind == "first" else 0)
        draw.text((round(x), y + round(fnt.getmetrics()[0] * 0.82)), text, font=fnt,
                  fill=255, anchor="ls")
        printed.append(text)
        y += round(lead * 1.3) if kind == "heading" else lead
    folio = str(FIRST_FOLIO + page_no - 1)
    fnt = rs.font("regular", 10)
    draw.text((round(centre - fnt.getlength(folio) / 2), rs.PAGE_H - rs.MARGIN_BOTTOM + 110 + dy),
              folio, font=fnt, fill=255, anchor="ls")
    printed.append(folio)
    return printed, header, folio


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: render-long-book.py OUT")
    book_dir = os.path.join(sys.argv[1], BOOK_ID)
    os.makedirs(os.path.join(book_dir, "gt"), exist_ok=True)
    with open(os.path.join(book_dir, "book.toml"), "w", encoding="utf-8") as f:
        f.write(f'title = "{TITLE}"\nlanguages = ["rus"]\n')
    truth = []
    for i, page in enumerate(layout(), start=1):
        rng = random.Random(f"kitap-long-book-v1/{i}")
        mask = Image.new("L", (rs.PAGE_W, rs.PAGE_H), 0)
        printed, header, folio = typeset(i, page, mask, rng)
        img = rs.make_scan(mask, i, rng)
        rs.save_page(img, os.path.join(book_dir, f"{i:04d}"), "png")
        with open(os.path.join(book_dir, "gt", f"{i:04d}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(printed) + "\n")
        first_body = printed[1] if header else printed[0]
        truth.append({"page": f"{i:04d}", "header": header, "page_number": int(folio),
                      "first_line": first_body, "chapter_opens": page["opens"]})
    with open(os.path.join(book_dir, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
    print(f"{book_dir}: {len(truth)} pages")


if __name__ == "__main__":
    main()
