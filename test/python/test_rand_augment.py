"""SG's RandAugment ops (lib/image/rand_augment.hpp, through test/tools/sg_image_tool) against PIL.

Images are made by PIL here (RGB and L: gradients with noise, tiny, flat, few-level, narrow
range, and one where Equalize's table passes 255) and saved as PNG. For every op of SG's two
lists (auto_augment.py: _RAND_TRANSFORMS and _RAND_INCREASING_TRANSFORMS) at several
magnitudes, whole and fractional (mstd makes them fractional), both signs for the signed ops,
our output must equal what SG's op function does with Debian's PIL: the level function below
(SG's arithmetic, the random sign fixed), then ImageOps / ImageEnhance / Image.transform /
Image.rotate with BILINEAR and SG's img_mean fill. The equality is exact, pixel for pixel, for
every op: no tolerance is needed, as PIL's float steps (the C floats of SMOOTH and blend, the
doubles of the bilinear filter, rotate's 15-decimal rounding) are reproduced.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageEnhance, ImageOps  # noqa: E402

MAX = 10.0
MAGNITUDES = [0, 1, 2.5, 3.7, 5, 7, 9, 10]
FILL_RGB = (124, 116, 104)   # SG's fill of img_mean [0.485, 0.456, 0.406]
FILL_L = (117,)


def level(m, span):
    return (m / MAX) * span


def signed(v, negate):
    return -v if negate else v


def posterize(img, bits):   # SG's posterize
    return img if bits >= 8 else ImageOps.posterize(img, bits)


def solarize_add(img, add, thresh=128):   # SG's solarize_add
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def affine(img, matrix, fill):
    return img.transform(img.size, Image.AFFINE, matrix, resample=Image.BILINEAR, fillcolor=fill)


def reference(name, img, m, negate, fill):
    """SG's AugmentOp call at magnitude m with the sign fixed."""
    enhance = {"Color": ImageEnhance.Color, "Contrast": ImageEnhance.Contrast,
               "Brightness": ImageEnhance.Brightness, "Sharpness": ImageEnhance.Sharpness}
    base = name.replace("Increasing", "")
    if name == "AutoContrast":
        return ImageOps.autocontrast(img)
    if name == "Equalize":
        return ImageOps.equalize(img)
    if name == "Invert":
        return ImageOps.invert(img)
    if name == "Rotate":
        return img.rotate(signed(level(m, 30.0), negate), resample=Image.BILINEAR, fillcolor=fill)
    if name == "Posterize":
        return posterize(img, int(level(m, 4)))
    if name == "PosterizeIncreasing":
        return posterize(img, 4 - int(level(m, 4)))
    if name == "Solarize":
        return ImageOps.solarize(img, int(level(m, 256)))
    if name == "SolarizeIncreasing":
        return ImageOps.solarize(img, 256 - int(level(m, 256)))
    if name == "SolarizeAdd":
        return solarize_add(img, int(level(m, 110)))
    if base in enhance:
        factor = 1.0 + signed(level(m, 0.9), negate) if name.endswith("Increasing") else level(m, 1.8) + 0.1
        return enhance[base](img).enhance(factor)
    if name == "ShearX":
        return affine(img, (1, signed(level(m, 0.3), negate), 0, 0, 1, 0), fill)
    if name == "ShearY":
        return affine(img, (1, 0, 0, signed(level(m, 0.3), negate), 1, 0), fill)
    if name == "TranslateXRel":
        return affine(img, (1, 0, signed(level(m, 0.45), negate) * img.size[0], 0, 1, 0), fill)
    if name == "TranslateYRel":
        return affine(img, (1, 0, 0, 0, 1, signed(level(m, 0.45), negate) * img.size[1]), fill)
    raise ValueError(name)


OPS = {  # name -> signed (SG's level function calls _randomly_negate)
    "AutoContrast": False, "Equalize": False, "Invert": False, "Rotate": True, "Posterize": False,
    "PosterizeIncreasing": False, "Solarize": False, "SolarizeIncreasing": False, "SolarizeAdd": False,
    "Color": False, "ColorIncreasing": True, "Contrast": False, "ContrastIncreasing": True,
    "Brightness": False, "BrightnessIncreasing": True, "Sharpness": False, "SharpnessIncreasing": True,
    "ShearX": True, "ShearY": True, "TranslateXRel": True, "TranslateYRel": True,
}


def picture(h, w, seed):
    """PIL's linear and radial gradients (edges once rotated or sheared) with noise."""
    rng = np.random.default_rng(seed)
    linear = np.asarray(Image.linear_gradient("L").rotate(25).resize((w, h), Image.BILINEAR), np.int64)
    radial = np.asarray(Image.radial_gradient("L").resize((w, h), Image.BILINEAR), np.int64)
    a = np.stack([linear, radial, 255 - linear], axis=-1) + rng.integers(-30, 31, (h, w, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def equalize_overflow():
    """Equalize's table goes past 255 here (step 2, the lone top value maps to 275): PIL clips it."""
    a = np.zeros(551, np.uint8)
    a[300:550] = 100
    a[550] = 200
    return np.repeat(a.reshape(19, 29)[..., None], 3, axis=2)


def images(folder):
    """name -> (path, PIL image as read back from the PNG)."""
    rgb = {
        "equalize_overflow_19x29": equalize_overflow(),
        "photo_37x53": picture(37, 53, 1),
        "photo_64x48": picture(64, 48, 2),
        "tiny_3x7": picture(3, 7, 3),
        "one_1x1": picture(1, 1, 4),
        "two_2x5": picture(2, 5, 5),
        "flat_9x9": np.full((9, 9, 3), 77, np.uint8),
        "few_levels_16x12": (picture(16, 12, 6) // 64 * 60 + 20).astype(np.uint8),
        "narrow_range_20x20": (picture(20, 20, 7) // 8 + 100).astype(np.uint8),
    }
    out = {}
    for name, a in rgb.items():
        for mode, im in (("rgb", Image.fromarray(a, "RGB")), ("gray", Image.fromarray(a, "RGB").convert("L"))):
            if mode == "gray" and name not in ("photo_37x53", "tiny_3x7", "flat_9x9", "few_levels_16x12",
                                                  "equalize_overflow_19x29"):
                continue
            path = os.path.join(folder, "%s_%s.png" % (name, mode))
            im.save(path)
            out["%s_%s" % (name, mode)] = (path, Image.open(path).copy())
    return out


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("tool",))   # --tool: the built sg_image_tool
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_rand_augment")
    files = images(sgtest.fresh_dir(os.path.join(args.workdir, "images")))
    out = os.path.join(args.workdir, "out.npy")
    compared = 0
    for image_name, (path, img) in sorted(files.items()):
        gray = img.mode == "L"
        fill = FILL_L if gray else FILL_RGB
        command = "apply-gray" if gray else "apply"
        for op, is_signed in OPS.items():
            for m in MAGNITUDES:
                for negate in ((False, True) if is_signed else (False,)):
                    what = "%s %s m=%g%s" % (image_name, op, m, " negated" if negate else "")
                    r = sgtest.run([args.tool, command, path, out, "augment", op, repr(float(m)), str(int(negate))] +
                                   [str(v) for v in fill], timeout=60)
                    if not c.check(r.rc == 0, "%s: %s" % (what, r.describe())):
                        continue
                    ours = np.load(out)
                    expected = np.asarray(reference(op, img, m, negate, fill[0] if gray else fill))
                    if gray:
                        expected = expected[..., None]
                    if not c.check(ours.shape == expected.shape, "%s: shape %s, PIL %s" % (
                            what, ours.shape, expected.shape)):
                        continue
                    diff = np.abs(ours.astype(int) - expected.astype(int))
                    compared += 1
                    c.check(diff.max() == 0, "%s: %d values differ from PIL's (max %d)" % (
                        what, int((diff > 0).sum()), int(diff.max())))
    c.check(compared > 1000, "only %d op outputs compared" % compared)
    # Refusals: an unknown op, a magnitude outside 0..10, a fill of the wrong length.
    path = files["photo_37x53_rgb"][0]
    for extra, needle in ((["Cutout", "5", "0", "1", "2", "3"], "Cutout"),
                          (["Rotate", "10.5", "0", "1", "2", "3"], "magnitude"),
                          (["Rotate", "5", "0"], "missing argument")):
        r = sgtest.run([args.tool, "apply", path, out, "augment"] + extra, timeout=60)
        c.check(r.rc == 2 and needle in r.err and r.err.count("\n") == 1,
                "augment %s: expected exit 2 naming '%s': %s" % (" ".join(extra), needle, r.describe()))
    c.report()


if __name__ == "__main__":
    main()
