import sys; sys.path.insert(0, 'benchmarks'); sys.path.insert(0, '.')
from pathlib import Path
import profiles as b
text = Path('benchmarks/results-profiles.md').read_text()
lines = text.split("\n## After the test")[0].splitlines()[2:]   # the run itself; the rest goes into the notes
notes = [
 "Development rows (`dev:`) are the sets every choice above was made on; the enrolment copies were chosen "
 "there over three enrolment draws, by a rule written down before they were measured "
 "(`benchmarks/profiles_dev/README.md`, round 11: second renderer 0.850 / 0.908 → 0.864 / 0.913, own generator "
 "0.876 / 0.948 → 0.879 / 0.947). The **TEST** row is the second renderer's seed 9797, rendered after that choice "
 "and scored once. Seed 7171 was the previous version's test (0.833 / 0.902 then, without copies); it had been "
 "looked at and is shown for comparison only (seeds 5151, 7070, 7373 and 8383 were looked at by earlier sessions).",
 "Targets, pooled over strip, bolt and label seals of the unseen renderer: accuracy 0.90 / ROC-AUC 0.95 — "
 "**missed**: 0.803 / 0.872 on seed 9797 (by 0.097 / 0.078); 0.828 / 0.912 on seed 7171. Seed 9797 is harder for "
 "every scorer (the classifier alone 0.700 / 0.814 there, 0.783 / 0.853 on 7171); its strips are the miss (0.650 / "
 "0.885: 70% of the damaged strips score under a threshold the enrolled strips set high), bolt seals 0.783 / 0.821, "
 "labels 0.975 / 1.000. **The enrolment copies did not help on the test seed**: scored again without them after "
 "the test (nothing chosen on it; `benchmarks/results-profiles.md`), seed 9797 gives 0.836 / 0.897 (strips 0.733 / "
 "0.877: the copies raised the strips' ROC-AUC a little and their threshold more). Over the development draws, "
 "seed 7171 (−0.005 / +0.010) and seed 9797 (−0.033 / −0.025) the copies make no reliable difference; they stay "
 "because the rule fixed in advance chose them, and this is stated here rather than undone after looking at the test.",
 "Which wins where: on the unseen renderer the profile beats the classifier alone (9797: 0.803 / 0.872 against "
 "0.700 / 0.814 at the pack's alarm threshold; 7171: 0.828 / 0.912 against 0.783 / 0.853); the patch distance alone "
 "was better still on seed 9797 (0.828 / 0.901) and about level on the development seeds (0.849 / 0.910 against "
 "0.865 / 0.909) and on 7171 (0.808 / 0.890 against 0.828 / 0.912). On the pack's own generator the classifier "
 "alone is as accurate (dev: 0.860 / 0.948 against 0.862 / 0.929) and the distance alone far behind (0.723 / "
 "0.824). The app's rule sends 46% of seed 9797's photos to review (29% of 7171's; mostly bolt seals, where the "
 "classifier alarms on intact ones) and is right on 96.4% of the rest.",
 "Also compared on the development sets this time, not shipped (`benchmarks/profiles_dev/round8.py`-`round11.py`): "
 "score-level fusion of block 6c's distance with blocks 2b, 3b, 4c or 5c (each z-standardised on the enrolled "
 "photos): all worse (second renderer 0.806-0.850 fused against 0.856); block 6c without the 3×3 neighbourhood "
 "average 0.864 / 0.916 (+0.008 / +0.009, but own generator level, and it needs a new output, i.e. pack surgery and "
 "re-enrolment of every profile), 5×5, 7×7-pooled and the global mean within ±0.01; mirror, ±30° and zoom copies. "
 "The best accuracy any single threshold reaches on these scores stays about 0.87-0.88 on the second renderer's "
 "development seeds: the target needs better features than block 6c of this classifier, not a better rule on top.",
 "Cost (one thread, loaded machine; the profile's bank has 980 patches with or without copies, so judging costs "
 "what it did): enrolling 50 photos 6.4 s at load ~3-5 and 12.1 s at load 5-6.5 (target < 30 s met; three times "
 "as many model runs as before the copies: 1.2 s with all threads at load 1.6 then); judging +30.4 ms per photo "
 "in the run above and +23.4 ms measured again alone right after, at load 5-6.5 (target < 30 ms: at the limit "
 "under this load; the previous session measured +7.6 ms with all threads at load 1.6). The coordinator's quiet "
 "run decides.",
]
b.write_card_section(Path('models/seal-integrity/CARD.md'), lines, [n + "\n" for n in notes])
