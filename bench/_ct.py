"""Synthetic CT abdomen/pelvis reports as departments write them: templated, organ by organ.

For the speed benchmark only (no clinical figure is taken from these). A report is the
department template (technique, organ sub-headings with their normal sentences) with a few
organs replaced by an abnormal sentence built from finding, side, size and organ; a typical
report is ~300 words and most of its sentences recur across reports, as in real CT practice.
"""

from __future__ import annotations

import random

TECHNIQUE = ("TECHNIQUE: Axial CT images of the abdomen and pelvis were obtained after the "
             "administration of intravenous and oral contrast. Coronal and sagittal "
             "reformations were reviewed. Dose: DLP {dlp} mGy-cm.\n")
COMPARISON = "COMPARISON: CT abdomen and pelvis dated {date}.\n"
HISTORY = ("CLINICAL HISTORY: {age}-year-old with {complaint}. Evaluate for acute intra-abdominal "
           "process. Prior surgical history includes cholecystectomy and hernia repair.\n")
COMPLAINTS = ["right lower quadrant pain and fever", "left flank pain and hematuria",
              "epigastric pain radiating to the back", "abdominal distension and vomiting",
              "weight loss and anemia", "fall from standing height"]
NORMAL = {
    "LOWER CHEST": ["The visualized lung bases are clear. There is no pleural or pericardial "
                    "effusion. The heart size is normal.",
                    "Lung bases are clear without consolidation, nodule or effusion. Heart size "
                    "is within normal limits."],
    "LIVER": ["The liver is normal in size and attenuation without focal lesion. The hepatic "
              "and portal veins are patent.",
              "Normal liver size and contour without focal hepatic lesion. Patent portal "
              "vein."],
    "GALLBLADDER AND BILE DUCTS": ["The gallbladder is unremarkable without stones or wall "
                                   "thickening. There is no intrahepatic or extrahepatic biliary "
                                   "ductal dilatation.",
                                   "Gallbladder is normal. No biliary dilatation. The common "
                                   "bile duct measures 4 mm."],
    "PANCREAS": ["The pancreas is unremarkable without focal lesion, ductal dilatation or "
                 "peripancreatic fluid.", "Normal pancreas without peripancreatic stranding."],
    "SPLEEN": ["The spleen is normal in size and attenuation.", "Spleen is unremarkable."],
    "ADRENAL GLANDS": ["The adrenal glands are unremarkable without nodule.",
                       "Normal adrenal glands."],
    "KIDNEYS AND URETERS": ["The kidneys enhance symmetrically without hydronephrosis, focal "
                            "lesion or renal calculi. The ureters are normal in caliber "
                            "throughout their course.",
                            "No hydronephrosis or nephrolithiasis. Normal renal enhancement. "
                            "Normal ureters."],
    "BOWEL": ["The stomach, small bowel and colon are normal in caliber without wall "
              "thickening or obstruction. The appendix is normal. There is no pericolonic "
              "fat stranding.",
              "No bowel obstruction, wall thickening or inflammatory change. Normal appendix. "
              "Scattered colonic diverticula without diverticulitis."],
    "PERITONEUM": ["There is no free fluid or free air. No abscess or fluid collection.",
                   "No ascites or pneumoperitoneum. No focal fluid collection."],
    "VESSELS AND LYMPH NODES": ["The abdominal aorta is normal in caliber with mild "
                                "atherosclerotic calcification. There is no retroperitoneal or "
                                "mesenteric lymphadenopathy.",
                                "No aneurysm. No enlarged abdominal or pelvic lymph nodes."],
    "PELVIS": ["The urinary bladder is unremarkable. The pelvic organs are unremarkable for "
               "age. No pelvic free fluid.", "Normal bladder and pelvic organs. No pelvic mass."],
    "BONES AND SOFT TISSUES": ["No acute osseous abnormality or suspicious osseous lesion. "
                               "Mild degenerative changes of the lumbar spine. The abdominal "
                               "wall is unremarkable.",
                               "No suspicious osseous lesion. No acute fracture. Small fat "
                               "containing umbilical hernia."],
}
ABNORMAL = {
    "LIVER": ["There is a {size} cm hypodense lesion in the {side} lobe of the liver, "
              "likely a cyst.", "Hepatic steatosis with {a} {size} cm enhancing lesion in "
              "segment {seg}."],
    "GALLBLADDER AND BILE DUCTS": ["Cholelithiasis with gallbladder wall thickening to "
                                   "{mm} mm and pericholecystic fluid."],
    "PANCREAS": ["There is peripancreatic fat stranding with a {size} cm fluid collection."],
    "SPLEEN": ["The spleen is enlarged, measuring {cm} cm."],
    "KIDNEYS AND URETERS": ["{Side} hydronephrosis with a {mm} mm obstructing calculus in "
                            "the distal {side} ureter.", "There is a {size} cm simple cyst "
                            "in the {side} kidney."],
    "BOWEL": ["The appendix is dilated to {mm} mm with periappendiceal fat stranding and an "
              "appendicolith.", "Dilated small bowel loops measuring up to {cm} cm with a "
              "transition point in the {side} lower quadrant."],
    "PERITONEUM": ["Small amount of free fluid in the pelvis. No free air."],
    "VESSELS AND LYMPH NODES": ["Infrarenal abdominal aortic aneurysm measuring {cm} cm."],
    "BONES AND SOFT TISSUES": ["Compression fracture of L{level} with {pct}% height loss."],
}
IMPRESSIONS = {
    "LIVER": "Indeterminate hepatic lesion.",
    "GALLBLADDER AND BILE DUCTS": "Acute cholecystitis.",
    "PANCREAS": "Acute pancreatitis with peripancreatic collection.",
    "SPLEEN": "Splenomegaly.",
    "KIDNEYS AND URETERS": "Obstructing ureteral calculus.",
    "BOWEL": "Acute appendicitis.",
    "PERITONEUM": "Small volume pelvic free fluid.",
    "VESSELS AND LYMPH NODES": "Abdominal aortic aneurysm.",
    "BONES AND SOFT TISSUES": "Compression fracture.",
}


def _fill(template: str, rng: random.Random) -> str:
    side = rng.choice(["left", "right"])
    return template.format(size=f"{rng.uniform(0.5, 6.0):.1f}",
                           side=side, Side=side.capitalize(), a="a", seg=rng.randint(2, 8),
                           mm=rng.randint(4, 15), cm=rng.randint(13, 19), level=rng.randint(1, 5),
                           pct=rng.choice([10, 20, 30, 50]))


def ct_report(rng: random.Random, findings: int) -> str:
    """A final report with `findings` abnormal organs."""
    abnormal = set(rng.sample(sorted(ABNORMAL), findings))
    lines = [HISTORY.format(age=rng.randint(20, 90), complaint=rng.choice(COMPLAINTS)),
             TECHNIQUE.format(dlp=rng.randint(300, 900)),
             COMPARISON.format(date=f"2026-{rng.randint(1, 9):02d}-{rng.randint(10, 28)}"),
             "FINDINGS:"]
    for organ, sentences in NORMAL.items():
        if organ in abnormal:
            text = _fill(rng.choice(ABNORMAL[organ]), rng)
        else:
            text = rng.choice(sentences)
        lines.append(f"{organ}: {text}")
    impression = [IMPRESSIONS[o] for o in NORMAL if o in abnormal] or ["No acute abnormality."]
    lines.append("\nIMPRESSION:")
    lines += [f"{k}. {s}" for k, s in enumerate(impression, start=1)]
    return "\n".join(lines)


def ct_pair(rng: random.Random) -> tuple[str, str]:
    """(preliminary, final): the preliminary misses, negates or resides one finding."""
    final = ct_report(rng, rng.randint(1, 3))
    lines = final.split("\n")
    findings = [k for k, line in enumerate(lines) if ":" in line and line.split(":")[0] in
                ABNORMAL and not any(line.endswith(n) for s in NORMAL.values() for n in s)]
    if findings:
        k = rng.choice(findings)
        organ = lines[k].split(":")[0]
        edit = rng.choice(["normal", "side", "drop"])
        if edit == "normal":
            lines[k] = f"{organ}: {rng.choice(NORMAL[organ])}"
        elif edit == "side":
            lines[k] = lines[k].replace("left", "RIGHT").replace("right", "left").replace(
                "RIGHT", "right")
        else:
            del lines[k]
    return "\n".join(lines), final
