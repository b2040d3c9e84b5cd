#!/usr/bin/env python3
"""Render one test page per language and script kitap reads beyond its sample books.

What it does
    Typesets a short original text (written for kitap, CC0-1.0) in each
    language below — Kazakh (to choose its models), the Soviet-era Cyrillic
    of languages written in Latin today, the Latin of Kazakh's new alphabet, Turkic and Iranian languages of
    Russia and Central Asia, Belarusian, Uyghur (Arabic script, right to left)
    and Russian in its pre-1918 orthography — with the page layout and scan
    artefacts of scripts/render-samples.py (5 x 7 inch, 300 dpi, grey PNG).
    For each it writes

        tests/data/languages/<tag>/0001.png     the page
        tests/data/languages/<tag>/book.toml    its language, as a librarian
                                                would write it
        tests/data/languages/<tag>/gt/0001.txt  the printed lines, in reading
                                                (logical) order

    Deterministic: the same files every run. tests/languages.rs converts every
    page with kitap and checks its character error rate; the README's language
    table reports them.

How to run
    /usr/bin/python3 scripts/render-languages.py

    Needs python3-pil (with libraqm for the Uyghur page) and fonts-dejavu.
"""

import importlib.util
import os
import random
import shutil
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "render_samples", os.path.join(HERE, "render-samples.py"))
rs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rs)

from PIL import Image, ImageDraw, ImageFont, features  # noqa: E402

SEED = "kitap-languages-v1"

# (tag as the book.toml writes it, title, paragraphs). Every text was written for kitap.
PAGES = [
    ("tt", "Авыл китапханәсе", [
        "Безнең авылда зур булмаган китапханә бар. Аның тәрәзәләре бакчага "
        "карый, ә киштәләрендә меңнән артык китап тора. Китапханәче Гөлнара "
        "апа һәр иртәдә ишекне ача да укучыларны көтә.",
        "Кышын юлларны кар каплый, шәһәргә автобус атнага бер генә тапкыр "
        "йөри. Шуңа күрә авыл кешеләре өчен китапханә — җылы һәм якты урын. "
        "Монда картлар газета укый, ә яшьләр дәресләргә әзерләнә.",
        "Иң иске китаплар өске киштәдә саклана. Аларның битләре саргайган, "
        "кайберләре ертылган. Без аларны сканерлап, электрон китапханәгә "
        "куярга телибез.",
    ]),
    ("ba", "Ауыл китапханаһы", [
        "Беҙҙең ауылда бәләкәй генә китапхана бар. Уның тәҙрәләре киң яланға "
        "ҡарай, ә кәштәләрендә меңгә яҡын китап тора. Китапханасы Гөлнур апай "
        "һәр иртә ишекте аса ла уҡыусыларҙы көтә.",
        "Ҡыш көнө юлдарҙы ҡар баҫа, ҡалаға автобус аҙнаға бер генә тапҡыр "
        "йөрөй. Шуға күрә ауыл кешеләре өсөн китапхана — йылы һәм яҡты урын. "
        "Бында ҡарттар гәзит уҡый, ә йәштәр дәрескә әҙерләнә.",
        "Иң иҫке китаптар өҫкө кәштәлә һаҡлана. Уларҙың биттәре һарғайған, "
        "ҡайһы бер биттәре йыртылған.",
    ]),
    ("ky", "Айыл китепканасы", [
        "Биздин айылда кичинекей китепкана бар. Анын терезелери кең талаага "
        "карайт, ал эми текчелеринде миңге жакын китеп турат. Китепканачы "
        "Гүлнара эже ар бир таң менен эшикти ачып, окурмандарды күтөт.",
        "Кышында жолдорду кар басып, шаарга автобус жумасына бир гана жолу "
        "жүрөт. Ошондуктан айыл тургундары үчүн китепкана — жылуу жана жарык "
        "жай. Бул жерде карылар гезит окушат, жаштар сабакка даярданышат.",
        "Эң эски китептер жогорку текчеде сакталат. Алардын барактары "
        "саргайып, айрымдары айрылган.",
    ]),
    ("tg", "Китобхонаи деҳа", [
        "Дар деҳаи мо китобхонаи хурде ҳаст. Тирезаҳои он ба саҳрои васеъ "
        "нигоҳ мекунанд, дар рафҳояш қариб ҳазор китоб мавҷуд аст. Китобдор "
        "Гулнора ҳар саҳар дарро мекушояд ва хонандагонро интизор мешавад.",
        "Зимистон роҳҳоро барф мепӯшонад ва автобус ба шаҳр ҳафтае як бор "
        "меравад. Бинобар ин барои сокинони деҳа китобхона ҷои гарму равшан "
        "аст. Дар ин ҷо пирон рӯзнома мехонанд, ҷавонон ба дарс тайёрӣ "
        "мебинанд.",
        "Китобҳои аз ҳама кӯҳна дар рафи болоӣ нигоҳ дошта мешаванд. "
        "Саҳифаҳояшон зард шудаанд.",
    ]),
    ("be", "Вясковая бібліятэка", [
        "У нашай вёсцы ёсць невялікая бібліятэка. Яе вокны глядзяць на "
        "шырокае поле, а на паліцах стаіць амаль тысяча кніг. Бібліятэкарка "
        "Галіна кожную раніцу адчыняе дзверы і чакае чытачоў.",
        "Зімой дарогі замятае снегам, і аўтобус у горад ходзіць толькі раз на "
        "тыдзень. Таму для жыхароў вёскі бібліятэка — цёплае і светлае месца. "
        "Тут старыя чытаюць газеты, а моладзь рыхтуецца да заняткаў.",
        "Самыя старыя кнігі захоўваюцца на верхняй паліцы. Іх старонкі "
        "пажоўклі, а некаторыя аркушы падраныя.",
    ]),
    ("tk-Cyrl", "Обадакы китапхана", [
        "Биз обамызда кичижик китапхана бар. Онуң пенҗирелери гиң мейдана "
        "гараяр, текҗелеринде болса мүңе голай китап дур. Китапханачы Гүлнара "
        "эже хер гүн ир билен гапыны ачып, окыҗылары гарашяр.",
        "Гышда ёллары гар басяр, шәхере автобус хепдеде дине бир гезек "
        "гатнаяр. Шонуң үчин обаданлар үчин китапхана — йылы ве ягты ер. Бу "
        "ерде гаррылар газет окаяр, яшлар болса сапага тайярланяр.",
        "Иң көне китаплар ёкарки текҗеде сакланяр. Оларың сахыпалары "
        "саралыпдыр, кәбирлери йыртылыпдыр.",
    ]),
    ("az-Cyrl", "Кәнд китабханасы", [
        "Бизим кәндимиздә кичик бир китабхана вар. Онун пәнҹәрәләри ҝениш "
        "чөлә бахыр, рәфләриндә исә минә јахын китаб дурур. Китабханачы "
        "Ҝүлнарә ханым һәр сәһәр гапыны ачыр вә охуҹулары ҝөзләјир.",
        "Гышда јоллары ағ гар басыр, шәһәрә автобус һәфтәдә бир дәфә ҝедир. "
        "Буна ҝөрә дә кәнд сакинләри үчүн китабхана исти вә ишыглы бир "
        "јердир. Бурада гоҹалар гәзет охујур, ҝәнҹләр исә дәрсә һазырлашыр.",
        "Ән көһнә китаблар үст рәфдә сахланылыр. Онларын сәһифәләри саралыб, "
        "бәзиләри ҹырылыб.",
    ]),
    ("uz-Cyrl", "Қишлоқ кутубхонаси", [
        "Бизнинг қишлоғимизда кичкина кутубхона бор. Унинг деразалари кенг "
        "далага қарайди, жавонларида эса мингга яқин китоб турибди. "
        "Кутубхоначи Гулнора опа ҳар куни эрталаб эшикни очиб, ўқувчиларни "
        "кутади.",
        "Қишда йўлларни қор босади, шаҳарга автобус ҳафтада бир марта "
        "қатнайди. Шунинг учун қишлоқ аҳли учун кутубхона иссиқ ва ёруғ жой. "
        "Бу ерда кексалар газета ўқийди, ёшлар эса дарсга тайёрланади.",
        "Энг эски китоблар юқори жавонда сақланади. Уларнинг варақлари "
        "сарғайган, баъзилари йиртилган.",
    ]),
    ("kk", "Қолжазбалар қоры", [
        "Облыстық кітапхананың жертөлесінде ескі жиһаздың арасында қолжазбалар "
        "мен кітаптар сақталған. Олардың көбі өткен ғасырдың басында басылған: "
        "кейбіреулері араб әрпімен, кейбіреулері латын әрпімен жазылған.",
        "Биыл кітапханашылар қорды цифрлық көшірмеге айналдыруды бастады. Күн "
        "сайын екі қызметкер бес жүзге жуық бетті сканерлейді. Әр кітаптың "
        "атауы, авторы және шыққан жылы электрондық каталогқа енгізіледі.",
        "Бұл жұмыс оңай емес: кейбір беттер қисық түседі, кейбіреулерінің шеті "
        "бүктелген. Оқырмандар енді үйден шықпай-ақ Абайдың, Мұхтар Әуезовтің "
        "және Ахмет Байтұрсынұлының еңбектерін оқи алады.",
        "Қорда барлығы 12 480 кітап бар, оның 3 150-і 1940 жылға дейін шыққан. "
        "Қаржыны облыс әкімдігі мен «Мәдени мұра» бағдарламасы бөлді.",
    ]),
    ("kk-Latn", "Dala kıtaphanasy", [
        "Auyldyñ şetınde kışkentai kıtaphana bar. Onyñ terezelerı keñ dalağa "
        "qaraidy, al sörelerınde myñğa juyq kıtap tūr. Kıtaphanaşy Gülnar apai "
        "är tañerteñ esıktı aşyp, oqyrmandardy kütedı.",
        "Qysta joldy qar basyp, qalağa baratyn avtobus aptasyna bır-aq ret "
        "jüredı. Sondyqtan auyl tūrğyndary üşın kıtaphana — jyly ärı jaryq "
        "jer. Mūnda qariialar gazet oqidy, al jastar sabaqqa daiyndalady.",
        "Eñ köne kıtaptar şkaftyñ joğarğy sörelerınde saqtalady. Olardyñ "
        "betterı sarğaiyp, keibır paraqtary jyrtylğan.",
    ]),
    ("kaa", "Awıl kitapxanası", [
        "Bizin awılımızda kishkene kitapxana bar. Onıń aynaları keń dalaǵa "
        "qaraydı, tekshelerinde mıńǵa jaqın kitap tur. Kitapxanashı Gúlnara "
        "apa hár kúni azanda esikti ashıp, oqıwshılardı kútedi.",
        "Qısta jollardı qar basadı, qalaǵa avtobus hápitesine bir ret júredi. "
        "Sonlıqtan awıl xalqı ushın kitapxana jıllı hám jaqtı orın. Bul jerde "
        "ǵarrılar gazeta oqıydı, jaslar sabaqqa tayarlanadı.",
        "Eń eski kitaplar joqarǵı tekshede saqlanadı. Olardıń betleri "
        "sarǵayǵan, ayırımları jırtılǵan.",
    ]),
    ("kaa-Cyrl", "Аўыл китапханасы", [
        "Бизиң аўылымызда кишкене китапхана бар. Оның айналары кең далаға "
        "қарайды, текшелеринде мыңға жақын китап тур. Китапханашы Гүлнара апа "
        "ҳәр күни азанда есикти ашып, оқыўшыларды күтеди.",
        "Қыста жолларды қар басады, қалаға автобус ҳәптесине бир рет жүреди. "
        "Сонлықтан аўыл халқы ушын китапхана жыллы ҳәм жақты орын. Бул жерде "
        "ғаррылар газета оқыйды, жаслар сабаққа таярланады.",
        "Ең ески китаплар жоқарғы текшеде сақланады. Олардың бетлери "
        "сарғайған, айырымлары жыртылған.",
    ]),
    ("crh", "Köy kitaphanesi", [
        "Bizim köyümizde kiçik bir kitaphane bar. Onıñ pencereleri keniş çölge "
        "baqa, raflarında biñge yaqın kitap tura. Kitaphaneci Gülnara apte er "
        "sabalane qapını aça ve oquyıcılarnı bekley.",
        "Qışta yollarnı qar basa, şeerge avtobus aftada bir kere kete. Şunıñ "
        "içün köy saqinleri içün kitaphane sıcaq ve aydın bir yerdir. Mında "
        "qartlar gazeta oquylar, yaşlar ise derslerge azırlanalar.",
        "Eñ eski kitaplar yuqarıdaki rafta saqlana. Olarnıñ saifeleri "
        "sararğan, bazıları yırtılğan.",
    ]),
    ("crh-Cyrl", "Коьй китапханеси", [
        "Бизим коьйюмизде кичик бир китапхане бар. Онынъ пенджерелери кенъ "
        "чёльге бакъа, рафларында бинъге якъын китап тура. Китапханеджи "
        "Гульнара апте эр сабалане къапыны ача ве окъуйыджыларны беклей.",
        "Къышта ёлларны къар баса, шеэрге автобус афтада бир кере кете. "
        "Шунынъ ичюн коьй сакинлери ичюн китапхане сыджакъ ве айдын бир "
        "ердир. Мында къартлар газета окъуйлар, яшлар исе дерслерге "
        "азырланалар.",
        "Энъ эски китаплар юкъарыдаки рафта сакълана. Оларнынъ саифелери "
        "сараргъан, базылары йыртылгъан.",
    ]),
    ("ug", "يېزا كۇتۇپخانىسى", [
        "بىزنىڭ يېزىمىزدا كىچىككىنە بىر كۇتۇپخانا بار. ئۇنىڭ دېرىزىلىرى كەڭ "
        "ئېتىزلىققا قارايدۇ، جازىلىرىدا مىڭغا يېقىن كىتاب تۇرىدۇ. "
        "كۇتۇپخانىچى گۈلنارە ھەدە ھەر كۈنى ئەتىگەندە ئىشىكنى ئېچىپ، "
        "ئوقۇرمەنلەرنى ساقلايدۇ.",
        "قىشتا يوللارنى قار باسىدۇ، شەھەرگە ئاپتوبۇس ھەپتىدە بىرلا قېتىم "
        "ماڭىدۇ. شۇڭا يېزا ئاھالىسى ئۈچۈن كۇتۇپخانا ئىللىق ۋە يورۇق جاي.",
    ]),
    ("ru-petr1708", "Сельская библіотека", [
        "Въ нашемъ селѣ есть небольшая библіотека. Ея окна выходятъ въ "
        "широкое поле, а на полкахъ стоитъ около тысячи книгъ. Библіотекарь "
        "Ѳедоръ Ивановичъ каждое утро отпираетъ двери и ждетъ читателей.",
        "Зимою дороги заметаетъ снѣгомъ, и почта приходитъ лишь разъ въ "
        "недѣлю. Потому для крестьянъ библіотека — теплое и свѣтлое мѣсто. "
        "Здѣсь старики читаютъ газеты, а молодые люди готовятся къ урокамъ.",
        "Самыя старыя книги хранятся на верхней полкѣ: житія, изданія "
        "Святѣйшаго Сѵнода и «Исторія государства Россійскаго». Ихъ страницы "
        "пожелтѣли.",
    ]),
]

RTL = {"ug"}
ARABIC_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def typeset_rtl(title, paras, mask):
    """Right-to-left pages: each line shaped whole by libraqm, set flush right."""
    if not features.check("raqm"):
        sys.exit("the Uyghur page needs Pillow with libraqm (Debian: libraqm0)")
    draw = ImageDraw.Draw(mask)
    layout = ImageFont.Layout.RAQM

    def fnt(pt):
        return ImageFont.truetype(ARABIC_FONT, round(pt * rs.DPI / 72), layout_engine=layout)

    body, head = fnt(11), fnt(17)
    left, right = rs.MARGIN_OUTER, rs.PAGE_W - rs.MARGIN_INNER
    width = right - left

    def length(f, text):
        return f.getlength(text, direction="rtl", language="ug")

    printed = []
    y = rs.MARGIN_TOP + 60
    w = length(head, title)
    draw.text(((left + right) / 2 + w / 2, y), title, font=head, fill=255,
              anchor="rs", direction="rtl", language="ug")
    printed.append(title)
    y += 160
    lead = round(11 * rs.DPI / 72 * 1.6)
    for para in paras:
        words = para.split()
        lines, cur = [], []
        for word in words:
            limit = width - (80 if not lines else 0)
            if cur and length(body, " ".join(cur + [word])) > limit:
                lines.append(cur)
                cur = [word]
            else:
                cur.append(word)
        lines.append(cur)
        for i, line in enumerate(lines):
            text = " ".join(line)
            x = right - (80 if i == 0 else 0)
            draw.text((x, y), text, font=body, fill=255, anchor="rs",
                      direction="rtl", language="ug")
            printed.append(text)
            y += lead
    folio = "1"
    draw.text(((left + right) / 2, rs.PAGE_H - rs.MARGIN_BOTTOM + 110), folio,
              font=fnt(10), fill=255, anchor="ms")
    printed.append(folio)
    return printed


def render(tag, title, paras, out_root):
    book_dir = os.path.join(out_root, tag)
    if os.path.isdir(book_dir):
        shutil.rmtree(book_dir)
    os.makedirs(os.path.join(book_dir, "gt"))
    rng = random.Random(f"{SEED}/{tag}")
    mask = Image.new("L", (rs.PAGE_W, rs.PAGE_H), 0)
    paras = [unicodedata.normalize("NFC", p) for p in paras]
    if tag in RTL:
        printed = typeset_rtl(title, paras, mask)
    else:
        page = {"format": "png",
                "blocks": [("title", title)] + [("para", p) for p in paras]}
        book = {"id": tag, "header": title}
        printed = rs.typeset_page(book, 1, page, mask, rng)
    img = rs.make_scan(mask, 1, rng)
    path = rs.save_page(img, os.path.join(book_dir, "0001"), "png")
    with open(os.path.join(book_dir, "gt", "0001.txt"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("\n".join(printed) + "\n")
    with open(os.path.join(book_dir, "book.toml"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("# Rendered by scripts/render-languages.py; do not edit by hand.\n")
        f.write(f"title = {rs.toml_string(title)}\n")
        f.write(f"languages = [{rs.toml_string(tag)}]\n")
        f.write(f"rights = {rs.toml_string('CC0-1.0 — generated by kitap')}\n")
    print(f"{path}  ({len(printed)} lines)")


def main():
    root = os.path.dirname(HERE)
    out_root = os.path.join(root, "tests", "data", "languages")
    os.makedirs(out_root, exist_ok=True)
    for tag, title, paras in PAGES:
        render(tag, title, paras, out_root)


if __name__ == "__main__":
    main()
