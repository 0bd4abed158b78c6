"""lib/image (through test/tools/sg_image_tool) against Debian's PIL and torchvision.

Real JPEG and PNG files are written here by PIL: several sizes, RGB, grayscale, RGBA, LA,
palette (with and without transparency), 1-bit, 16-bit grayscale, progressive and 4:4:4
JPEGs. Checked:
  - decoding equals np.array(Image.open(f).convert("RGB")) (and convert("L")): exactly for
    PNG; for JPEG exactly when our TurboJPEG and PIL's libjpeg come from the same
    libjpeg-turbo release, else within 1 per value (which of the two is asserted and printed);
  - truncated, empty, garbage, corrupt and decompression-bomb files and a FIFO: exit 2 with
    one line naming the file, never a crash; where PIL still decodes a damaged file, we do too;
  - the deterministic transforms equal torchvision's on PIL images: Resize (every PIL filter,
    (h, w) and shorter side, max_size), resized_crop, CenterCrop (padding included), crop,
    pad (every mode), hflip, the four colour adjustments, ToTensor + Normalize;
  - the ImageFolder index equals torchvision.datasets.ImageFolder's (classes, samples and their
    order: nested folders, links, upper-case extensions, names that sort tricky), and both
    refuse a root without classes and a class without images.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms as T  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402
from torchvision.transforms import InterpolationMode as IM  # noqa: E402

SIZES = [(1, 1), (3, 7), (37, 53), (224, 300), (375, 500)]   # (height, width)
FILTERS = {"nearest": IM.NEAREST, "box": IM.BOX, "bilinear": IM.BILINEAR, "hamming": IM.HAMMING,
           "bicubic": IM.BICUBIC, "lanczos": IM.LANCZOS}


def picture(h, w, seed):
    """A photo-like RGB array: smooth gradients, edges and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(x / 9.0 + c) * np.cos(y / 13.0 - c) for c in range(3)], axis=-1)
    base[(x // 16 + y // 16) % 2 == 0] += 40
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def write_images(folder):
    """name -> path of every decoding fixture, written by PIL."""
    files = {}
    for i, (h, w) in enumerate(SIZES):
        rgb = Image.fromarray(picture(h, w, i), "RGB")
        stem = os.path.join(folder, "%dx%d" % (h, w))

        def save(kind, im, ext, **kw):
            path = "%s_%s.%s" % (stem, kind, ext)
            im.save(path, **kw)
            files[os.path.basename(path)] = path

        save("rgb", rgb, "png")
        save("gray", rgb.convert("L"), "png")
        save("rgba", Image.merge("RGBA", (*rgb.split(), rgb.convert("L"))), "png")
        save("la", Image.merge("LA", (rgb.convert("L"), rgb.split()[0])), "png")
        save("palette", rgb.quantize(64), "png")
        save("palette_trns", rgb.quantize(16), "png", transparency=3)
        save("bilevel", rgb.convert("1"), "png")
        gray16 = (picture(h, w, i + 10)[..., 0].astype(np.uint16) * 257 // (1 + i)).astype(np.uint16)
        save("gray16", Image.fromarray(gray16, "I;16"), "png")
        save("q90", rgb, "jpg", quality=90)
        save("q75_444", rgb, "jpeg", quality=75, subsampling=0)
        save("progressive", rgb, "jpg", quality=85, progressive=True)
        save("gray", rgb.convert("L"), "jpg", quality=90)
    return files


def libjpeg_release_of_pil():
    """The upstream version of the libjpeg that PIL's _imaging has loaded (Debian package)."""
    Image.open(io_jpeg()).load()
    with open("/proc/self/maps") as maps:
        lib = sorted({line.split()[-1] for line in maps if "/libjpeg.so" in line})[0]
    pkg = subprocess.run(["dpkg", "-S", os.path.realpath(lib)], capture_output=True, text=True).stdout.split(":")[0]
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True).stdout
    return version.split(":")[-1].split("-")[0]


def io_jpeg():
    import io
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "JPEG")
    buf.seek(0)
    return buf


class Tool:
    def __init__(self, c, path, workdir):
        self.c, self.path, self.workdir, self.n = c, path, workdir, 0

    def run(self, *args):
        return sgtest.run([self.path] + [str(a) for a in args], timeout=60)

    def array(self, command, *args, what):
        """Runs `command IN OUT ...` and loads OUT, or records the failure and returns None."""
        self.n += 1
        out = os.path.join(self.workdir, "out%d.npy" % self.n)
        r = self.run(command, args[0], out, *args[1:])
        if not self.c.check(r.rc == 0, "%s: %s" % (what, r.describe())):
            return None
        return np.load(out)

    def refused(self, path, what, needle=None):
        """The tool refuses `path`: exit 2, one line on stderr naming it (and `needle`)."""
        r = self.run("decode", path, os.path.join(self.workdir, "refused.npy"))
        line = r.err.strip()
        ok = r.rc == 2 and "\n" not in line and path in line and (needle is None or needle in line)
        self.c.check(ok, "%s: expected exit 2 and one line naming %s%s: %s" % (
            what, path, " and '%s'" % needle if needle else "", r.describe()))
        return ok


def compare(c, ours, expected, what, tolerance=0):
    if ours is None:
        return None
    if not c.check(ours.shape == expected.shape, "%s: shape %s, expected %s" % (what, ours.shape, expected.shape)):
        return None
    diff = int(np.abs(ours.astype(np.int64) - expected.astype(np.int64)).max()) if ours.size else 0
    c.check(diff <= tolerance, "%s: max difference %d (allowed %d)" % (what, diff, tolerance))
    return diff


def check_decoding(c, tool, files):
    ours_release = tool.run("version").out.strip()
    pil_release = libjpeg_release_of_pil()
    jpeg_tolerance = 0 if ours_release == pil_release else 1
    print("TurboJPEG %s, PIL's libjpeg-turbo %s: JPEG decoding must be %s" % (
        ours_release, pil_release, "exact" if jpeg_tolerance == 0 else "within 1"))
    worst_jpeg = 0
    for name, path in sorted(files.items()):
        tolerance = 0 if name.endswith(".png") else jpeg_tolerance
        with Image.open(path) as im:
            expected_rgb, expected_l = np.array(im.convert("RGB")), np.array(im.convert("L"))
        d = compare(c, tool.array("decode", path, what="decode " + name), expected_rgb, "decode " + name, tolerance)
        if not name.endswith(".png") and d is not None:
            worst_jpeg = max(worst_jpeg, d)
        gray = tool.array("decode", path, "gray", what="decode gray " + name)
        if gray is not None:
            compare(c, gray[..., 0], expected_l, "decode gray " + name, tolerance)
    print("JPEG: largest difference from PIL %d" % worst_jpeg)


def pil_decodes(path):
    try:
        with Image.open(path) as im:
            return np.array(im.convert("RGB"))
    except Exception:
        return None


def last_idat_end(png):
    """Where the last IDAT chunk of a complete PNG file ends (after its CRC)."""
    import struct
    pos, end = 8, None
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        pos += 12 + length
        if kind == b"IDAT":
            end = pos
    return end


def check_hostile(c, tool, files, workdir):
    for name in ("224x300_q90.jpg", "224x300_progressive.jpg", "224x300_rgb.png", "37x53_palette.png",
                 "37x53_gray16.png"):
        data = open(files[name], "rb").read()
        for cut in sorted({0, 1, 2, 3, 7, 8, 20, 33, 100, len(data) // 3, len(data) // 2, len(data) - 20,
                           len(data) - 2, len(data) - 1}):
            path = os.path.join(workdir, "cut%d_%s" % (cut, name))
            with open(path, "wb") as f:
                f.write(data[:cut])
            expected = pil_decodes(path)
            if expected is None:
                tool.refused(path, "%s cut at %d bytes (PIL refuses it)" % (name, cut))
            elif name.endswith(".png") and cut < last_idat_end(data):
                # PIL stops reading at the last row, so a cut inside the zlib checksum that
                # ends the last IDAT spares it; libpng reads the stream to its end: refused.
                tool.refused(path, "%s cut inside its last IDAT" % name, "truncated PNG data")
            else:   # PIL still decodes it (the cut spared the pixels): so must we, identically
                compare(c, tool.array("decode", path, what="cut " + path), expected, "%s cut at %d" % (name, cut))
        rng = np.random.default_rng(len(data))
        for k in range(12):   # corrupt bytes: either both decode or we refuse; never a crash
            corrupt = bytearray(data)
            for pos in rng.integers(len(data) // 4, len(data), 8):
                corrupt[pos] = int(rng.integers(0, 256))
            path = os.path.join(workdir, "corrupt%d_%s" % (k, name))
            with open(path, "wb") as f:
                f.write(bytes(corrupt))
            r = tool.run("decode", path, os.path.join(workdir, "corrupt.npy"))
            c.check(r.rc in (0, 2) and (r.rc == 0 or (path in r.err and r.err.count("\n") == 1)),
                    "corrupt %s: %s" % (path, r.describe()))

    empty = os.path.join(workdir, "empty.png")
    open(empty, "wb").close()
    tool.refused(empty, "empty file", "empty file")
    text = os.path.join(workdir, "text.jpg")
    with open(text, "w") as f:
        f.write("not an image\n")
    tool.refused(text, "a text file named .jpg", "not a JPEG or PNG")
    bmp = os.path.join(workdir, "picture.bmp")
    Image.fromarray(picture(8, 8, 0)).save(bmp)
    tool.refused(bmp, "a BMP (an ImageFolder extension we do not decode)", "not a JPEG or PNG")
    tool.refused(os.path.join(workdir, "missing.png"), "a missing file", "No such file")
    fifo = os.path.join(workdir, "fifo.png")
    os.mkfifo(fifo)
    tool.refused(fifo, "a FIFO (refused at once, not waited on)", "not a regular file")

    # Decompression bombs: real files whose header claims more pixels than PIL's MAX_IMAGE_PIXELS.
    import struct
    import zlib
    png = bytearray(open(files["1x1_rgb.png"], "rb").read())
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", 60000, 60000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    bomb = os.path.join(workdir, "bomb.png")
    with open(bomb, "wb") as f:
        f.write(bytes(png))
    jpg = bytearray(open(files["3x7_q90.jpg"], "rb").read())
    sof = jpg.find(b"\xff\xc0")
    jpg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    jbomb = os.path.join(workdir, "bomb.jpg")
    with open(jbomb, "wb") as f:
        f.write(bytes(jpg))
    for path in (bomb, jbomb):
        try:
            with Image.open(path) as im:
                im.load()
            c.fail("%s: PIL accepted the bomb (the fixture is wrong)" % path)
        except Image.DecompressionBombError:
            pass
        r = sgtest.run([tool.path, "decode", path, os.path.join(workdir, "bomb.npy")], timeout=30,
                       as_limit=None if os.environ.get("SG_SANITIZED") else 512 << 20)
        c.check(r.rc == 2 and path in r.err and "exceeds the limit of 89478485 pixels" in r.err and r.seconds < 5,
                "bomb %s: expected a quick exit 2 naming the pixel limit: %s" % (path, r.describe()))


def check_transforms(c, tool, files):
    for name in ("224x300_rgb.png", "37x53_rgb.png", "37x53_gray.png", "3x7_rgb.png", "375x500_rgb.png"):
        path = files[name]
        img = Image.open(path)
        img.load()
        w, h = img.size
        gray = img.mode == "L"
        if gray:   # the tool decodes to RGB, as torchvision's loader does
            img = img.convert("RGB")

        def check(args, expected, what):
            compare(c, tool.array("apply", path, *args, what=what), np.array(expected), "%s: %s" % (name, what))

        for fname, mode in FILTERS.items():
            for oh, ow in ((h // 2 + 1, w // 3 + 1), (h * 2, w + 5), (224, 224), (h, w * 2 + 1), (h + 3, w)):
                check(("resize", oh, ow, fname), F.resize(img, [oh, ow], interpolation=mode),
                      "resize %dx%d %s" % (oh, ow, fname))
        for size, max_size in ((32, None), (256, None), (200, 260), (7, None)):
            check(("resize-short", size, "bilinear") + ((max_size,) if max_size else ()),
                  T.Resize(size, max_size=max_size)(img), "Resize(%d, max_size=%s)" % (size, max_size))
        for ch, cw in ((224, 224), (h // 2, w // 3 + 1), (h + 5, w + 2), (h + 1, max(1, w - 1))):
            check(("center-crop", ch, cw), T.CenterCrop((ch, cw))(img), "CenterCrop(%d, %d)" % (ch, cw))
        t, l, ch, cw = h // 4, w // 5, max(1, h // 2), max(1, w // 2)
        check(("crop", t, l, ch, cw), F.crop(img, t, l, ch, cw), "crop")
        for fname in ("bilinear", "bicubic"):
            check(("resized-crop", t, l, ch, cw, 224, 224, fname),
                  F.resized_crop(img, t, l, ch, cw, [224, 224], FILTERS[fname]), "resized_crop " + fname)
        for mode in ("constant", "edge", "reflect", "symmetric"):
            pads = (4, 2, 3, 5) if mode != "reflect" or min(h, w) > 5 else (1, 0, 1, 0)
            if mode == "reflect" and min(h, w) < 2:
                continue
            check(("pad",) + pads + (mode, 17), F.pad(img, list(pads), fill=17, padding_mode=mode), "pad " + mode)
        check(("hflip",), F.hflip(img), "hflip")
        for f in (0.0, 0.4, 1.0, 1.7):
            check(("brightness", f), F.adjust_brightness(img, f), "brightness %g" % f)
            check(("contrast", f), F.adjust_contrast(img, f), "contrast %g" % f)
            check(("saturation", f), F.adjust_saturation(img, f), "saturation %g" % f)
        for f in (-0.5, -0.23, 0.0, 0.1, 0.37, 0.5):
            check(("hue", f), F.adjust_hue(img, f), "hue %g" % f)
        if gray:   # one channel through lib/image's gray paths
            gray_img = Image.open(path)
            for args, expected, what in (
                    (("resize", h // 2 + 1, w * 2, "bicubic"), F.resize(gray_img, [h // 2 + 1, w * 2], IM.BICUBIC), "resize"),
                    (("resized-crop", t, l, ch, cw, 40, 30, "bilinear"),
                     F.resized_crop(gray_img, t, l, ch, cw, [40, 30], IM.BILINEAR), "resized_crop"),
                    (("pad", 3, 1, 2, 4, "reflect", 0), F.pad(gray_img, [3, 1, 2, 4], padding_mode="reflect"), "pad"),
                    (("hflip",), F.hflip(gray_img), "hflip"),
                    (("contrast", 1.6), F.adjust_contrast(gray_img, 1.6), "contrast")):
                compare(c, tool.array("apply-gray", path, *args, what=name + " gray " + what), np.array(expected)[..., None],
                        "%s: gray %s" % (name, what))
            ours = tool.array("apply-gray", path, "normalize", 0.5, 0.25, what=name + ": gray normalize")
            expected = T.Normalize([0.5], [0.25])(T.ToTensor()(gray_img)).numpy()
            c.check(ours is not None and np.array_equal(ours, expected), "%s: gray ToTensor+Normalize" % name)
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        ours = tool.array("apply", path, "normalize", *(mean + std), what=name + ": normalize")
        expected = T.Normalize(mean, std)(T.ToTensor()(img)).numpy()
        if ours is not None and c.check(ours.shape == expected.shape, "%s: normalize shape" % name):
            c.check(np.array_equal(ours, expected), "%s: ToTensor+Normalize: max difference %g" % (
                name, float(np.abs(ours - expected).max())))


def check_index(c, tool, workdir):
    root = sgtest.fresh_dir(os.path.join(workdir, "folder"))
    img = Image.fromarray(picture(4, 4, 1))
    layout = ["b/x.JPG", "b/a.png", "b/sub/z.jpeg", "b/sub-a/y.png", "b/sub2/w.PNG", "b/sub/deep/v.jpg",
              "a/img.webp", "a/notes.txt", "a/.hidden.png", "a/im.tif", "C/q.jpg", "c/q.bmp", "c/Q.ppm"]
    for rel in layout:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel.endswith(".txt"):
            open(path, "w").close()
        else:
            img.save(path, format="PNG")
    elsewhere = sgtest.fresh_dir(os.path.join(workdir, "elsewhere"))
    img.save(os.path.join(elsewhere, "linked.png"))
    os.symlink(elsewhere, os.path.join(root, "d_link"))                    # a class that is a link
    os.symlink(os.path.join(elsewhere, "linked.png"), os.path.join(root, "a", "file_link.jpg"))
    os.symlink(elsewhere, os.path.join(root, "b", "sub", "dir_link"))      # followed below a class
    open(os.path.join(root, "top_file.png"), "w").close()                  # not a class

    ds = torchvision.datasets.ImageFolder(root)
    r = tool.run("index", root)
    if not c.check(r.rc == 0, "index: %s" % r.describe()):
        return
    classes = [l[6:] for l in r.out.splitlines() if l.startswith("class ")]
    samples = [(l.split(" ", 2)[2], int(l.split(" ", 2)[1])) for l in r.out.splitlines() if l.startswith("sample ")]
    c.eq(classes, ds.classes, "index classes")
    c.eq(samples, [(p, t) for p, t in ds.samples], "index samples")

    empty_root = sgtest.fresh_dir(os.path.join(workdir, "no_classes"))
    open(os.path.join(empty_root, "a.png"), "w").close()
    no_images = sgtest.fresh_dir(os.path.join(workdir, "no_images"))
    os.makedirs(os.path.join(no_images, "cat"))
    os.makedirs(os.path.join(no_images, "dog"))
    img.save(os.path.join(no_images, "cat", "1.png"))
    open(os.path.join(no_images, "dog", "readme.txt"), "w").close()
    for folder, named in ((empty_root, empty_root), (no_images, os.path.join(no_images, "dog"))):
        try:
            torchvision.datasets.ImageFolder(folder)
            c.fail("%s: torchvision accepted it (the fixture is wrong)" % folder)
        except FileNotFoundError:
            pass
        r = tool.run("index", folder)
        c.check(r.rc == 2 and named in r.err and r.err.count("\n") == 1,
                "index %s: expected exit 2 naming %s: %s" % (folder, named, r.describe()))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("tool",))   # --tool: the built sg_image_tool
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_image")
    tool = Tool(c, args.tool, args.workdir)
    files = write_images(sgtest.fresh_dir(os.path.join(args.workdir, "images")))
    check_decoding(c, tool, files)
    check_hostile(c, tool, files, sgtest.fresh_dir(os.path.join(args.workdir, "hostile")))
    check_transforms(c, tool, files)
    check_index(c, tool, args.workdir)
    c.report()


if __name__ == "__main__":
    main()
