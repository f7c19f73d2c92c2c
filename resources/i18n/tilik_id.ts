<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="id_ID">
<context>
    <name>BatchModel</name>
    <message>
        <location filename="../../gui/widgets/batch_view.py" line="+43"/>
        <source>File</source>
        <translation>Berkas</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Verdict</source>
        <translation>Hasil</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Confidence</source>
        <translation>Keyakinan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Review</source>
        <translation>Tinjauan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Notes</source>
        <translation>Catatan</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Error</source>
        <translation>Galat</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>needs review</source>
        <translation>perlu ditinjau</translation>
    </message>
</context>
<context>
    <name>BatchView</name>
    <message>
        <location line="+145"/>
        <source>The batch stopped: {reason}</source>
        <translation>Pemeriksaan massal berhenti: {reason}</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Finding images…</source>
        <translation>Mencari gambar…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No batch yet. Open a folder (Ctrl+Shift+O) or several files to inspect them all.</source>
        <translation>Belum ada pemeriksaan massal. Buka folder (Ctrl+Shift+O) atau beberapa berkas untuk memeriksa semuanya.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{done} of {total} images</source>
        <translation>{done} dari {total} gambar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{rate} images/s</source>
        <translation>{rate} gambar/dtk</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>about {s} s left</source>
        <translation>sisa sekitar {s} dtk</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancelled</source>
        <translation>Dibatalkan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Done</source>
        <translation>Selesai</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{n} need review</source>
        <translation>{n} perlu ditinjau</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} could not be read</source>
        <translation>{n} tidak dapat dibaca</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cancel batch</source>
        <translation>Batalkan pemeriksaan massal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop after the images being processed now (Esc)</source>
        <translation>Berhenti setelah gambar yang sedang diproses (Esc)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only show images that need review</source>
        <translation>Tampilkan hanya gambar yang perlu ditinjau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Double-click or press Enter to open a result</source>
        <translation>Klik dua kali atau tekan Enter untuk membuka hasil</translation>
    </message>
</context>
<context>
    <name>CameraPanel</name>
    <message>
        <location filename="../../gui/widgets/camera.py" line="+244"/>
        <source>Camera</source>
        <translation>Kamera</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Stop camera</source>
        <translation>Matikan kamera</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start camera</source>
        <translation>Nyalakan kamera</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show the live camera picture</source>
        <translation>Tampilkan gambar kamera secara langsung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Capture (Space)</source>
        <translation>Ambil gambar (Spasi)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inspect the current camera picture</source>
        <translation>Periksa gambar kamera saat ini</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Live</source>
        <translation>Langsung</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Classify the camera picture a few times a second (not saved to the log)</source>
        <translation>Klasifikasikan gambar kamera beberapa kali per detik (tidak disimpan ke log)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Which camera to use</source>
        <translation>Kamera yang digunakan</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Camera support is not available on this computer ({reason}). Open or paste images instead.</source>
        <translation>Dukungan kamera tidak tersedia di komputer ini ({reason}). Buka atau tempel gambar saja.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No camera found</source>
        <translation>Kamera tidak ditemukan</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The camera stopped: {reason}</source>
        <translation>Kamera berhenti: {reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Camera off</source>
        <translation>Kamera mati</translation>
    </message>
</context>
<context>
    <name>ChecklistItem</name>
    <message>
        <location filename="../../gui/widgets/seal_form.py" line="+373"/>
        <source>not done</source>
        <translation>belum dicek</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>pass</source>
        <translation>lolos</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>fail</source>
        <translation>gagal</translation>
    </message>
</context>
<context>
    <name>EnrolDialog</name>
    <message>
        <location filename="../../gui/widgets/signature_enrol.py" line="+21"/>
        <source>Enrol reference signatures</source>
        <translation>Daftarkan tanda tangan referensi</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Enrol {n} specimen signature(s) of customer “{id}”. They stay in the inspection log; a reference is retired, never deleted.</source>
        <translation>Daftarkan {n} spesimen tanda tangan nasabah “{id}”. Semuanya tetap tersimpan di log pemeriksaan; referensi dinonaktifkan, tidak pernah dihapus.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>e.g. account opening form 2024-117, ID card</source>
        <translation>mis. formulir pembukaan rekening 2024-117, KTP</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional</source>
        <translation>opsional</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>From &amp;document:</source>
        <translation>Dari &amp;dokumen:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Note:</source>
        <translation>&amp;Catatan:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Enrolled by:</source>
        <translation>Didaftarkan oleh:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>(set your name in Settings)</source>
        <translation>(isi nama Anda di Pengaturan)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Enrol</source>
        <translation>Daftarkan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Batal</translation>
    </message>
</context>
<context>
    <name>HistoryModel</name>
    <message>
        <location filename="../../gui/widgets/history_model.py" line="+37"/>
        <source>confirmed</source>
        <translation>dikonfirmasi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>overturned</source>
        <translation>dibalikkan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>escalated</source>
        <translation>dieskalasi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not reviewed</source>
        <translation>belum ditinjau</translation>
    </message>
    <message>
        <location line="+124"/>
        <source>Time</source>
        <translation>Waktu</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mode</source>
        <translation>Mode</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Verdict</source>
        <translation>Hasil</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Confidence</source>
        <translation>Keyakinan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Review</source>
        <translation>Tinjauan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Operator</source>
        <translation>Petugas</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Signature score {score} (threshold {threshold})</source>
        <translation>Skor tanda tangan {score} (ambang {threshold})</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The log&apos;s chain is broken here: this record was changed or removed after it was written.</source>
        <translation>Rantai log putus di sini: catatan ini diubah atau dihapus setelah ditulis.</translation>
    </message>
    <message>
        <location line="-50"/>
        <source>Image</source>
        <translation>Gambar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Seal / customer</source>
        <translation>Segel / nasabah</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>needs review</source>
        <translation>perlu ditinjau</translation>
    </message>
</context>
<context>
    <name>HistoryView</name>
    <message>
        <location filename="../../gui/widgets/history_view.py" line="+283"/>
        <source>The inspection log is not available.</source>
        <translation>Log pemeriksaan tidak tersedia.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} inspections match</source>
        <translation>{n} pemeriksaan cocok</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Select an inspection to see the full record.</source>
        <translation>Pilih pemeriksaan untuk melihat catatan lengkapnya.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>(keep the machine&apos;s label)</source>
        <translation>(pertahankan label mesin)</translation>
    </message>
    <message>
        <location line="+77"/>
        <source>Verdict</source>
        <translation>Hasil</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Score</source>
        <translation>Skor</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{score} (threshold {threshold})</source>
        <translation>{score} (ambang {threshold})</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Label after review</source>
        <translation>Label setelah ditinjau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Time</source>
        <translation>Waktu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mode</source>
        <translation>Mode</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+138"/>
        <source>Operator</source>
        <translation>Petugas</translation>
    </message>
    <message>
        <location line="-137"/>
        <source>Station</source>
        <translation>Pos</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Image</source>
        <translation>Gambar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pack</source>
        <translation>Paket</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Why review</source>
        <translation>Alasan ditinjau</translation>
    </message>
    <message>
        <location line="-13"/>
        <source>Number</source>
        <translation>Angka</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>confirmed after editing</source>
        <translation>dikonfirmasi setelah diubah</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>confirmed as read</source>
        <translation>dikonfirmasi sesuai bacaan</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>not confirmed</source>
        <translation>belum dikonfirmasi</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Read from the photo</source>
        <translation>Terbaca dari foto</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reading</source>
        <translation>Pembacaan</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Input check</source>
        <translation>Pemeriksaan masukan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>flagged</source>
        <translation>ditandai</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>passed</source>
        <translation>lolos</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Seal number</source>
        <translation>Nomor segel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Container number</source>
        <translation>Nomor kontainer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Indicative</source>
        <translation>Indikatif</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Security</source>
        <translation>Keamanan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>High security</source>
        <translation>Keamanan tinggi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Seal class</source>
        <translation>Kelas segel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>View</source>
        <translation>Lihat</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Verify</source>
        <translation>Cocokkan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tug</source>
        <translation>Tarik</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Twist</source>
        <translation>Putar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checklist</source>
        <translation>Daftar periksa</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Customer or account</source>
        <translation>Nasabah atau rekening</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Document checked</source>
        <translation>Dokumen yang diperiksa</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>References used</source>
        <translation>Referensi yang dipakai</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Patient reference</source>
        <translation>Referensi pasien</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Probabilities</source>
        <translation>Probabilitas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Record hash</source>
        <translation>Hash catatan</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{time}: {decision} by {by}{label}{note}</source>
        <translation>{time}: {decision} oleh {by}{label}{note}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reviews</source>
        <translation>Tinjauan</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Inspection #{id}</source>
        <translation>Pemeriksaan #{id}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Set your name in Settings first: reviews are signed.</source>
        <translation>Isi nama Anda di Pengaturan dulu: setiap tinjauan ditandatangani.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{by} made this inspection: a review needs a second person. (A supervisor can allow self-review in Settings; the log records it.)</source>
        <translation>{by} yang melakukan pemeriksaan ini: tinjauan butuh orang kedua. (Supervisor dapat mengizinkan tinjauan sendiri di Pengaturan; log mencatatnya.)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>To overturn, choose the correct label or write a note.</source>
        <translation>Untuk membalikkan, pilih label yang benar atau tulis catatan.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>[self-review: allowed by the station&apos;s setting]</source>
        <translation>[tinjauan sendiri: diizinkan oleh pengaturan pos]</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Saved: {decision} by {by}.</source>
        <translation>Tersimpan: {decision} oleh {by}.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Saving…</source>
        <translation>Menyimpan…</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Search source, labels, people, numbers, notes…</source>
        <translation>Cari sumber, label, orang, nomor, catatan…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Filter the log (Ctrl+F)</source>
        <translation>Saring log (Ctrl+F)</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Confirm… (Alt+Shift+C)</source>
        <translation>Konfirmasi… (Alt+Shift+C)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Overturn… (Alt+Shift+X)</source>
        <translation>Balikkan… (Alt+Shift+X)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Escalate… (Alt+Shift+E)</source>
        <translation>Eskalasi… (Alt+Shift+E)</translation>
    </message>
    <message>
        <location line="-43"/>
        <source>All modes</source>
        <translation>Semua mode</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>All</source>
        <translation>Semua</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Review queue</source>
        <translation>Antrean tinjauan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Flagged for review</source>
        <translation>Ditandai untuk ditinjau</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reviewed</source>
        <translation>Sudah ditinjau</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Review queue: flagged and not reviewed yet</source>
        <translation>Antrean tinjauan: ditandai dan belum ditinjau</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dates:</source>
        <translation>Tanggal:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Heatmap</source>
        <translation>Peta panas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Supervisor review</source>
        <translation>Tinjauan penyelia</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Note:</source>
        <translation>&amp;Catatan:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>why (saved with the review)</source>
        <translation>alasannya (disimpan bersama tinjauan)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Correct &amp;label:</source>
        <translation>&amp;Label yang benar:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The verdict is right</source>
        <translation>Hasilnya benar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The verdict is wrong; choose the correct label</source>
        <translation>Hasilnya salah; pilih label yang benar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pass it on to someone more senior</source>
        <translation>Teruskan ke atasan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export CSV…</source>
        <translation>Ekspor CSV…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the inspections matching the filter as a spreadsheet</source>
        <translation>Simpan pemeriksaan yang cocok dengan saringan sebagai lembar kerja</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export PDF…</source>
        <translation>Ekspor PDF…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the inspections matching the filter as a PDF report</source>
        <translation>Simpan pemeriksaan yang cocok dengan saringan sebagai laporan PDF</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Verify chain</source>
        <translation>Verifikasi rantai</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Check that no record was changed or deleted</source>
        <translation>Periksa bahwa tidak ada catatan yang diubah atau dihapus</translation>
    </message>
</context>
<context>
    <name>InputPanel</name>
    <message>
        <location filename="../../gui/widgets/input_panel.py" line="+409"/>
        <source>Images</source>
        <translation>Gambar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Or drop image files or folders anywhere on this window.</source>
        <translation>Atau seret berkas gambar atau folder ke mana saja di jendela ini.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../gui/modes.py" line="+67"/>
        <source>No seal pack installed</source>
        <translation>Belum ada paket segel terpasang</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Signature verification pack not installed</source>
        <translation>Paket verifikasi tanda tangan belum terpasang</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No skin-lesion pack installed</source>
        <translation>Belum ada paket lesi kulit terpasang</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No general (ImageNet) pack installed</source>
        <translation>Belum ada paket umum (ImageNet) terpasang</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/logbook.py" line="+140"/>
        <source>Log: chain intact ✓</source>
        <translation>Log: rantai utuh ✓</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/history.py" line="+105"/>
        <source>Review saved.</source>
        <translation>Tinjauan tersimpan.</translation>
    </message>
    <message>
        <location filename="../../gui/main_window.py" line="+260"/>
        <source>Tilik — offline inspection</source>
        <translation>Tilik — pemeriksaan luring</translation>
    </message>
    <message>
        <location filename="../../gui/actions.py" line="+97"/>
        <source>&amp;Open images…</source>
        <translation>&amp;Buka gambar…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Open one image to inspect, or several for a batch (Ctrl+O)</source>
        <translation>Buka satu gambar untuk diperiksa, atau beberapa untuk pemeriksaan massal (Ctrl+O)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open &amp;folder…</source>
        <translation>Buka &amp;folder…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Inspect every image in a folder (Ctrl+Shift+O)</source>
        <translation>Periksa setiap gambar dalam folder (Ctrl+Shift+O)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Paste image</source>
        <translation>&amp;Tempel gambar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Inspect the image on the clipboard (Ctrl+V)</source>
        <translation>Periksa gambar di papan klip (Ctrl+V)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Capture</source>
        <translation>&amp;Ambil gambar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Inspect the current camera picture (Space)</source>
        <translation>Periksa gambar kamera saat ini (Spasi)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Turn the camera on or off (Ctrl+K)</source>
        <translation>Nyalakan atau matikan kamera (Ctrl+K)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start/stop ca&amp;mera</source>
        <translation>Nyalakan/matikan &amp;kamera</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Previous result</source>
        <translation>Hasil se&amp;belumnya</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Previous result (Alt+Left)</source>
        <translation>Hasil sebelumnya (Alt+Kiri)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Next result</source>
        <translation>Hasil beri&amp;kutnya</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Next result (Alt+Right)</source>
        <translation>Hasil berikutnya (Alt+Kanan)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Heatmap</source>
        <translation>&amp;Peta panas</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Show where the model looked (H)</source>
        <translation>Tunjukkan bagian yang diperhatikan model (H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Side by side</source>
        <translation>&amp;Berdampingan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Show the photo and the heatmap next to each other (S)</source>
        <translation>Tampilkan foto dan peta panas berdampingan (S)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom in (Ctrl++, or the mouse wheel)</source>
        <translation>Perbesar (Ctrl++, atau roda tetikus)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Zoom in</source>
        <translation>Per&amp;besar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom &amp;out</source>
        <translation>Per&amp;kecil</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Zoom out (Ctrl+-, or the mouse wheel)</source>
        <translation>Perkecil (Ctrl+-, atau roda tetikus)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Fit to window</source>
        <translation>&amp;Sesuaikan dengan jendela</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Fit the image to the window (Ctrl+0)</source>
        <translation>Sesuaikan gambar dengan jendela (Ctrl+0)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Actual size</source>
        <translation>Ukuran &amp;asli</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Show the image at 100% (Ctrl+1)</source>
        <translation>Tampilkan gambar pada 100% (Ctrl+1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel &amp;batch</source>
        <translation>Batalkan pemeriksaan &amp;massal</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stop the running batch (Esc)</source>
        <translation>Hentikan pemeriksaan massal yang berjalan (Esc)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Model card…</source>
        <translation>Kartu &amp;model…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>What this model is, how well it works and its limits (Ctrl+I)</source>
        <translation>Apa model ini, seberapa baik kerjanya, dan batasannya (Ctrl+I)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Settings…</source>
        <translation>Pe&amp;ngaturan…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Your name, language, storage, packs (Ctrl+,)</source>
        <translation>Nama Anda, bahasa, penyimpanan, paket (Ctrl+,)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reload packs</source>
        <translation>&amp;Muat ulang paket</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Look for new or changed model packs (F5)</source>
        <translation>Cari paket model yang baru atau berubah (F5)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Quit</source>
        <translation>&amp;Keluar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Close Tilik (Ctrl+Q)</source>
        <translation>Tutup Tilik (Ctrl+Q)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export history as &amp;CSV…</source>
        <translation>Ekspor riwayat sebagai &amp;CSV…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Export the inspections matching the history filter (Ctrl+E)</source>
        <translation>Ekspor pemeriksaan yang cocok dengan saringan riwayat (Ctrl+E)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export history as P&amp;DF…</source>
        <translation>Ekspor riwayat sebagai P&amp;DF…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>A PDF report of the inspections matching the history filter</source>
        <translation>Laporan PDF dari pemeriksaan yang cocok dengan saringan riwayat</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Verify log chain</source>
        <translation>&amp;Verifikasi rantai log</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Check that no record in the log was changed</source>
        <translation>Periksa bahwa tidak ada catatan di log yang diubah</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C&amp;lose shift…</source>
        <translation>Tutup &amp;shift…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Verify the log and note its signed head, to print or send elsewhere</source>
        <translation>Periksa log dan catat kepala rantainya yang ditandatangani, untuk dicetak atau dikirim ke tempat lain</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Searc&amp;h history</source>
        <translation>&amp;Cari di riwayat</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear the per-item fields for the next one; the station fields stay (Ctrl+N)</source>
        <translation>Kosongkan isian per barang untuk berikutnya; isian pos tetap (Ctrl+N)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Review: c&amp;onfirm…</source>
        <translation>Tinjauan: k&amp;onfirmasi…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>The selected verdict is right (Alt+Shift+C)</source>
        <translation>Hasil yang dipilih benar (Alt+Shift+C)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Review: ove&amp;rturn…</source>
        <translation>Tinjauan: &amp;balikkan…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>The selected verdict is wrong (Alt+Shift+X)</source>
        <translation>Hasil yang dipilih salah (Alt+Shift+X)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Review: &amp;escalate…</source>
        <translation>Tinjauan: &amp;eskalasi…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Pass the selected inspection on (Alt+Shift+E)</source>
        <translation>Teruskan pemeriksaan yang dipilih ke atasan (Alt+Shift+E)</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>Search the inspection log (Ctrl+F)</source>
        <translation>Cari di log pemeriksaan (Ctrl+F)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Pintasan papan ketik</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Every shortcut (F1)</source>
        <translation>Semua pintasan (F1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;About Tilik</source>
        <translation>&amp;Tentang Tilik</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Inspect</source>
        <translation>&amp;Periksa</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Inspect tab (F2)</source>
        <translation>Tab Periksa (F2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Batch</source>
        <translation>&amp;Massal</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Batch tab (F3)</source>
        <translation>Tab Massal (F3)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>History tab (F4)</source>
        <translation>Tab Riwayat (F4)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Histor&amp;y</source>
        <translation>&amp;Riwayat</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{mode} mode (Alt+{n})</source>
        <translation>Mode {mode} (Alt+{n})</translation>
    </message>
    <message>
        <location filename="../../gui/main_window.py" line="+2"/>
        <source>&amp;File</source>
        <translation>&amp;Berkas</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;View</source>
        <translation>&amp;Tampilan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Mode</source>
        <translation>&amp;Mode</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Tools</source>
        <translation>&amp;Alat</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Help</source>
        <translation>Ba&amp;ntuan</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Ne&amp;xt seal</source>
        <translation>Segel beri&amp;kutnya</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ne&amp;xt document</source>
        <translation>Dokumen beri&amp;kutnya</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ne&amp;xt item</source>
        <translation>Barang beri&amp;kutnya</translation>
    </message>
    <message>
        <location line="+107"/>
        <source>Ready for the next one: the per-item fields are cleared.</source>
        <translation>Siap untuk berikutnya: isian per barang sudah dikosongkan.</translation>
    </message>
    <message>
        <location filename="../../gui/widgets/toolbar.py" line="+47"/>
        <source>Mode:</source>
        <translation>Mode:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Pack:</source>
        <translation>&amp;Paket:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The model pack used for this mode</source>
        <translation>Paket model yang dipakai untuk mode ini</translation>
    </message>
    <message>
        <location filename="../../gui/main_window.py" line="-129"/>
        <source>Inspect</source>
        <translation>Periksa</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Batch</source>
        <translation>Massal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>History</source>
        <translation>Riwayat</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>One image at a time (F2)</source>
        <translation>Satu gambar setiap kali (F2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Many images at once (F3)</source>
        <translation>Banyak gambar sekaligus (F3)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The inspection log (F4)</source>
        <translation>Log pemeriksaan (F4)</translation>
    </message>
    <message>
        <location line="+138"/>
        <location filename="../../gui/widgets/inspect_page.py" line="+197"/>
        <source>Heatmap opacity: {n}%</source>
        <translation>Opasitas peta panas: {n}%</translation>
    </message>
    <message>
        <location filename="../../gui/widgets/inspect_page.py" line="-2"/>
        <source>Result</source>
        <translation>Hasil</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Opac&amp;ity</source>
        <translation>&amp;Opasitas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Grey</source>
        <translation>Abu-abu</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Turbo</source>
        <translation>Turbo</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Jet</source>
        <translation>Jet</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Heatmap colours</source>
        <translation>Warna peta panas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Decision support only — not a diagnosis. Tilik can be wrong; a doctor must examine any lesion that worries you or the patient.</source>
        <translation>Hanya pendukung keputusan — bukan diagnosis. Tilik bisa salah; dokter harus memeriksa setiap lesi yang mengkhawatirkan Anda atau pasien.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Drop images or folders here, press Ctrl+O to open, Ctrl+V to paste, or start the camera.</source>
        <translation>Seret gambar atau folder ke sini, tekan Ctrl+O untuk membuka, Ctrl+V untuk menempel, atau nyalakan kamera.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mouse wheel or +/− to zoom, drag to pan, 0 to fit</source>
        <translation>Roda tetikus atau +/− untuk memperbesar, seret untuk menggeser, 0 untuk menyesuaikan</translation>
    </message>
    <message>
        <location filename="../../gui/main_window.py" line="-93"/>
        <source>Looking for model packs…</source>
        <translation>Mencari paket model…</translation>
    </message>
    <message>
        <location filename="../../gui/state.py" line="+86"/>
        <source>The pack &apos;{id}&apos; cannot be used: {reason}</source>
        <translation>Paket &apos;{id}&apos; tidak dapat dipakai: {reason}</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/logbook.py" line="-83"/>
        <source>The inspection log cannot be opened: {reason}</source>
        <translation>Log pemeriksaan tidak dapat dibuka: {reason}</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>Log: checking chain…</source>
        <translation>Log: memeriksa rantai…</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Closing the shift: checking the log…</source>
        <translation>Menutup shift: memeriksa log…</translation>
    </message>
    <message>
        <location filename="../../gui/dialogs.py" line="+105"/>
        <source>The shift was NOT closed: the log is broken at {problem}. Nothing was noted; report it.</source>
        <translation>Shift TIDAK ditutup: log rusak pada {problem}. Tidak ada yang dicatat; laporkan.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Shift closed</source>
        <translation>Shift ditutup</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>The log was checked ({n} chained rows) and its signed head noted. Print this or send it elsewhere; `tilik log verify --anchor SEQ:HASH` proves it later.</source>
        <translation>Log telah diperiksa ({n} baris berantai) dan kepala rantainya yang ditandatangani dicatat. Cetak atau kirim ke tempat lain; `tilik log verify --anchor SEQ:HASH` membuktikannya nanti.</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/logbook.py" line="-38"/>
        <source>Log: chain check failed — {reason}</source>
        <translation>Log: pemeriksaan rantai gagal — {reason}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Log: opening…</source>
        <translation>Log: membuka…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Log: not available</source>
        <translation>Log: tidak tersedia</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Log: chain not checked yet</source>
        <translation>Log: rantai belum diperiksa</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Log: chain intact ✓ · signed by key {key}, not this station&apos;s</source>
        <translation>Log: rantai utuh ✓ · ditandatangani kunci {key}, bukan kunci stasiun ini</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Log: chain BROKEN at {where} — {reason}</source>
        <translation>Log: rantai RUSAK di {where} — {reason}</translation>
    </message>
    <message>
        <location filename="../../gui/widgets/status_labels.py" line="+24"/>
        <source>Pack: {name} {version}</source>
        <translation>Paket: {name} {version}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pack: none</source>
        <translation>Paket: tidak ada</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Runs on: {p}</source>
        <translation>Berjalan di: {p}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The onnxruntime execution provider really in use</source>
        <translation>Penyedia eksekusi onnxruntime yang benar-benar dipakai</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Log: chain BROKEN at {where} — see History</source>
        <translation>Log: rantai PUTUS di {where} — lihat Riwayat</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/logbook.py" line="+8"/>
        <source>{path}
{n} chained records checked at {time}; head {seq}:{hash}</source>
        <translation>{path}
{n} catatan berantai diperiksa pukul {time}; kepala {seq}:{hash}</translation>
    </message>
    <message>
        <location filename="../../gui/widgets/status_labels.py" line="+6"/>
        <source>(set your name in Settings)</source>
        <translation>(isi nama Anda di Pengaturan)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Operator: {name}</source>
        <translation>Petugas: {name}</translation>
    </message>
    <message>
        <location filename="../../gui/actions.py" line="+5"/>
        <location filename="../../gui/controllers/inputs.py" line="+39"/>
        <source>Open images</source>
        <translation>Buka gambar</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inputs.py" line="-16"/>
        <source>Images ({exts});;All files (*)</source>
        <translation>Gambar ({exts});;Semua berkas (*)</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Open a folder of images</source>
        <translation>Buka folder berisi gambar</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Signature mode checks one signature at a time: open or drop a single image.</source>
        <translation>Mode tanda tangan memeriksa satu tanda tangan setiap kali: buka atau seret satu gambar saja.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>pasted image</source>
        <translation>gambar tempelan</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The clipboard holds no image.</source>
        <translation>Papan klip tidak berisi gambar.</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inspect.py" line="+72"/>
        <source>The container number does not pass the ISO 6346 check. Correct it, or tick “I checked” if it really is written that way.</source>
        <translation>Nomor kontainer tidak lolos pemeriksaan ISO 6346. Perbaiki, atau centang “Sudah saya periksa” jika memang tertulis demikian.</translation>
    </message>
    <message>
        <location filename="../../gui/state.py" line="+55"/>
        <source>the inspection log is not open</source>
        <translation>log pemeriksaan tidak terbuka</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/batch.py" line="+126"/>
        <location line="+10"/>
        <location filename="../../gui/controllers/inspect.py" line="+104"/>
        <location line="+10"/>
        <source>Not saved to the log: {reason}</source>
        <translation>Tidak tersimpan ke log: {reason}</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inspect.py" line="-4"/>
        <source>Live preview — not saved to the log</source>
        <translation>Pratinjau langsung — tidak disimpan ke log</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saved to the log as inspection #{id}</source>
        <translation>Tersimpan di log sebagai pemeriksaan #{id}</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>file</source>
        <translation>berkas</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>pasted</source>
        <translation>tempelan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>camera</source>
        <translation>kamera</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inputs.py" line="+26"/>
        <location filename="../../gui/controllers/inspect.py" line="+0"/>
        <source>live camera</source>
        <translation>kamera langsung</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inspect.py" line="+1"/>
        <source>batch</source>
        <translation>massal</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>log</source>
        <translation>log</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>{i} of {n} (batch)</source>
        <translation>{i} dari {n} (massal)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{i} of {n}</source>
        <translation>{i} dari {n}</translation>
    </message>
    <message>
        <location filename="../../gui/main_window.py" line="+85"/>
        <location filename="../../gui/controllers/inputs.py" line="-77"/>
        <source>camera capture</source>
        <translation>tangkapan kamera</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/batch.py" line="-76"/>
        <source>The previous batch was cancelled.</source>
        <translation>Pemeriksaan massal sebelumnya dibatalkan.</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>{n} image(s) in the batch could not be read — see the table. Last: {reason}</source>
        <translation>{n} gambar dalam pemeriksaan massal tidak dapat dibaca — lihat tabel. Terakhir: {reason}</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>Batch cancelled after {done} of {total} images.</source>
        <translation>Pemeriksaan massal dibatalkan setelah {done} dari {total} gambar.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Batch done: {done} images in {s} s.</source>
        <translation>Pemeriksaan massal selesai: {done} gambar dalam {s} dtk.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{n} could not be read — see the table.</source>
        <translation>{n} tidak dapat dibaca — lihat tabel.</translation>
    </message>
    <message>
        <location line="-85"/>
        <source>Cancelling the batch…</source>
        <translation>Membatalkan pemeriksaan massal…</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/history.py" line="-5"/>
        <source>Reviews are made in the History tab (F4): select an inspection first.</source>
        <translation>Tinjauan dilakukan di tab Riwayat (F4): pilih pemeriksaan terlebih dahulu.</translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+16"/>
        <location line="+12"/>
        <location filename="../../gui/controllers/logbook.py" line="+7"/>
        <source>The inspection log is not open.</source>
        <translation>Log pemeriksaan tidak terbuka.</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>Export inspections as CSV</source>
        <translation>Ekspor pemeriksaan sebagai CSV</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>CSV files (*.csv)</source>
        <translation>Berkas CSV (*.csv)</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+12"/>
        <source>Exporting…</source>
        <translation>Mengekspor…</translation>
    </message>
    <message>
        <location line="-26"/>
        <source>Export inspections as PDF</source>
        <translation>Ekspor pemeriksaan sebagai PDF</translation>
    </message>
    <message>
        <location line="-63"/>
        <source>Record a review</source>
        <translation>Catat tinjauan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Record “{decision}” for inspection #{id} ({verdict}), signed by {by}? A review cannot be changed or removed afterwards.</source>
        <translation>Catat “{decision}” untuk pemeriksaan #{id} ({verdict}), ditandatangani {by}? Tinjauan tidak dapat diubah atau dihapus sesudahnya.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Record review</source>
        <translation>Catat tinjauan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Batal</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>PDF files (*.pdf)</source>
        <translation>Berkas PDF (*.pdf)</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Exported a {n}-page report to {path}</source>
        <translation>Laporan {n} halaman diekspor ke {path}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Exported {n} inspections to {path}</source>
        <translation>{n} pemeriksaan diekspor ke {path}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Exported to {path}</source>
        <translation>Diekspor ke {path}</translation>
    </message>
    <message>
        <location filename="../../gui/actions.py" line="+0"/>
        <source>Open a folder (batch)</source>
        <translation>Buka folder (massal)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paste an image</source>
        <translation>Tempel gambar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start or stop the camera</source>
        <translation>Nyalakan atau matikan kamera</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Capture from the camera</source>
        <translation>Ambil gambar dari kamera</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous / next result</source>
        <translation>Hasil sebelumnya / berikutnya</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Heatmap on/off</source>
        <translation>Peta panas hidup/mati</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Side by side</source>
        <translation>Berdampingan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fit / actual size</source>
        <translation>Sesuaikan / ukuran asli</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Zoom</source>
        <translation>Perbesar/perkecil</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Seal, Signature, Skin lesion, General mode</source>
        <translation>Mode Segel, Tanda tangan, Lesi kulit, Umum</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inspect, Batch, History tab</source>
        <translation>Tab Periksa, Massal, Riwayat</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancel the batch</source>
        <translation>Batalkan pemeriksaan massal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next seal / next document: clear the per-item fields</source>
        <translation>Segel / dokumen berikutnya: kosongkan isian per barang</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search the history</source>
        <translation>Cari di riwayat</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Review: confirm / overturn / escalate</source>
        <translation>Tinjauan: konfirmasi / balikkan / eskalasi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export the history as CSV</source>
        <translation>Ekspor riwayat sebagai CSV</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Model card</source>
        <translation>Kartu model</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>Pengaturan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reload packs</source>
        <translation>Muat ulang paket</translation>
    </message>
    <message>
        <location filename="../../gui/dialogs.py" line="-47"/>
        <source>Keyboard shortcuts</source>
        <translation>Pintasan papan ketik</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>About Tilik</source>
        <translation>Tentang Tilik</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tilik {version} — offline inspection with local models. No image ever leaves this computer.</source>
        <translation>Tilik {version} — pemeriksaan luring dengan model lokal. Tidak ada gambar yang pernah keluar dari komputer ini.</translation>
    </message>
    <message>
        <location filename="../../gui/crash.py" line="+97"/>
        <location filename="../../gui/dialogs.py" line="-50"/>
        <location line="+14"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location filename="../../gui/dialogs.py" line="-3"/>
        <source>Tilik</source>
        <translation>Tilik</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/inputs.py" line="+61"/>
        <source>dropped image</source>
        <translation>gambar yang diseret</translation>
    </message>
    <message>
        <location filename="../../gui/crash.py" line="-8"/>
        <source>Something went wrong inside Tilik ({kind}). Your work so far is safe; you can keep working.</source>
        <translation>Terjadi kesalahan di dalam Tilik ({kind}). Pekerjaan Anda sejauh ini aman; Anda dapat terus bekerja.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The details were saved to {path}. Please send that file to your support contact.</source>
        <translation>Rinciannya disimpan di {path}. Mohon kirim berkas itu ke kontak dukungan Anda.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Internal error</source>
        <translation>Kesalahan internal</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Open folder</source>
        <translation>Buka folder</translation>
    </message>
</context>
<context>
    <name>ModelCardDialog</name>
    <message>
        <location filename="../../gui/widgets/model_card.py" line="+117"/>
        <source># Model card not shown

{reason}</source>
        <translation># Kartu model tidak ditampilkan

{reason}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Model card — {name} {version}</source>
        <translation>Kartu model — {name} {version}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close</source>
        <translation>Tutup</translation>
    </message>
    <message>
        <location line="+3"/>
        <source># {name}

This pack has no model card. Its facts are on the right.</source>
        <translation># {name}

Paket ini tidak memiliki kartu model. Faktanya ada di sebelah kanan.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Pack</source>
        <translation>Paket</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mode</source>
        <translation>Mode</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Classes</source>
        <translation>Kelas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Intended use</source>
        <translation>Penggunaan yang dimaksud</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Limitations</source>
        <translation>Batasan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Metrics</source>
        <translation>Metrik</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Data</source>
        <translation>Data</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Licence</source>
        <translation>Lisensi</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Decision policy</source>
        <translation>Kebijakan keputusan</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Alarming classes: {names}</source>
        <translation>Kelas yang mengkhawatirkan: {names}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Alarm threshold: {t}</source>
        <translation>Ambang peringatan: {t}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Review band: {low}–{high}</source>
        <translation>Rentang tinjauan: {low}–{high}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Minimum confidence: {c}</source>
        <translation>Keyakinan minimum: {c}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Out-of-domain check: {score} above {t}</source>
        <translation>Pemeriksaan di luar domain: {score} di atas {t}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>When the answer would be an alarm: refused above {t}</source>
        <translation>Bila jawabannya berupa peringatan: ditolak di atas {t}</translation>
    </message>
</context>
<context>
    <name>Modes</name>
    <message>
        <location filename="../../gui/modes.py" line="-11"/>
        <source>Seal</source>
        <translation>Segel</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Signature</source>
        <translation>Tanda tangan</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Skin lesion</source>
        <translation>Lesi kulit</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>General</source>
        <translation>Umum</translation>
    </message>
    <message>
        <location filename="../../gui/controllers/seal_profiles.py" line="+71"/>
        <source>Seal profiles</source>
        <translation>Profil segel</translation>
    </message>
</context>
<context>
    <name>OverlayLegend</name>
    <message>
        <location filename="../../gui/widgets/signature_view.py" line="+49"/>
        <source>Red: ink only in the reference</source>
        <translation>Merah: tinta hanya di referensi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Green: ink only in the signature checked</source>
        <translation>Hijau: tinta hanya di tanda tangan yang diperiksa</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Yellow: ink in both (within 2 px)</source>
        <translation>Kuning: tinta di keduanya (dalam 2 px)</translation>
    </message>
</context>
<context>
    <name>ResultPanel</name>
    <message>
        <location filename="../../gui/widgets/result_panel.py" line="+160"/>
        <source>No image yet</source>
        <translation>Belum ada gambar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open, drop, paste or capture an image to inspect it.</source>
        <translation>Buka, seret, tempel, atau ambil gambar untuk memeriksanya.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Inspecting…</source>
        <translation>Memeriksa…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Could not inspect this image</source>
        <translation>Gambar ini tidak dapat diperiksa</translation>
    </message>
    <message>
        <location line="-134"/>
        <source>Take a close-up, in-focus photo of the lesion alone, in good light.</source>
        <translation>Ambil foto dekat lesi itu saja, tajam, dengan cahaya yang baik.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Photograph the seal itself, close up and in focus.</source>
        <translation>Foto segelnya sendiri, dari dekat dan tajam.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This pack only knows the kinds of photo it was trained on.</source>
        <translation>Paket ini hanya mengenal jenis foto yang dipakai untuk melatihnya.</translation>
    </message>
    <message>
        <location line="+158"/>
        <source>Tilik does not judge this image.</source>
        <translation>Tilik tidak menilai gambar ini.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Out-of-domain score: {score}</source>
        <translation>Skor di luar domain: {score}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>(limit {limit})</source>
        <translation>(batas {limit})</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Needs review by a person</source>
        <translation>Perlu ditinjau oleh manusia</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Input check: this image looks altered or unusual — do not trust the verdict without a closer look.</source>
        <translation>Pemeriksaan masukan: gambar ini tampak diubah atau tidak biasa — jangan percayai hasilnya tanpa melihat lebih teliti.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>After cleaning the image the model says: {label} ({conf}).</source>
        <translation>Setelah gambar dibersihkan, model menyatakan: {label} ({conf}).</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{rate} false alarms on clean images</source>
        <translation>{rate} alarm palsu pada gambar bersih</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Input check detector: {detail}</source>
        <translation>Detektor pemeriksa masukan: {detail}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Input check: passed — nothing suggests the image was tampered with.</source>
        <translation>Pemeriksaan masukan: lolos — tidak ada tanda gambar telah dimanipulasi.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The seal model was trained on generated photos only: confirm by eye before acting on it.</source>
        <translation>Model segel hanya dilatih dengan foto buatan: pastikan dengan mata sebelum bertindak.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pack: {pack} {version}</source>
        <translation>Paket: {pack} {version}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ran on: {provider} in {ms} ms</source>
        <translation>Berjalan di: {provider} dalam {ms} md</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Image: {w} × {h} px</source>
        <translation>Gambar: {w} × {h} piksel</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Note: {note}</source>
        <translation>Catatan: {note}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Top {n} of {total} classes</source>
        <translation>{n} teratas dari {total} kelas</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Probabilities</source>
        <translation>Probabilitas</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Probabilities (top 3: {names})</source>
        <translation>Probabilitas (3 teratas: {names})</translation>
    </message>
</context>
<context>
    <name>RetireDialog</name>
    <message>
        <location filename="../../gui/widgets/signature_enrol.py" line="+22"/>
        <source>Retire reference signature</source>
        <translation>Nonaktifkan tanda tangan referensi</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Retire reference #{id} of customer “{customer}”? New checks will not use it; the log keeps it, marked retired, with your name and reason.</source>
        <translation>Nonaktifkan referensi #{id} milik nasabah “{customer}”? Pemeriksaan baru tidak akan memakainya; log tetap menyimpannya, ditandai nonaktif, beserta nama dan alasan Anda.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>e.g. signature changed, poor scan, not the customer&apos;s</source>
        <translation>mis. tanda tangan berubah, hasil pindai buruk, bukan milik nasabah</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>&amp;Alasan:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Retire</source>
        <translation>Nonaktifkan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Batal</translation>
    </message>
</context>
<context>
    <name>SealForm</name>
    <message>
        <location filename="../../gui/widgets/seal_form.py" line="-216"/>
        <source>Seal details</source>
        <translation>Detail segel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Seal number:</source>
        <translation>Nomor &amp;segel:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C&amp;ontainer number:</source>
        <translation>Nomor &amp;kontainer:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Seal c&amp;lass:</source>
        <translation>Ke&amp;las segel:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>as printed on the seal</source>
        <translation>seperti tercetak pada segel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. CSQU 305438 3</source>
        <translation>mis. CSQU 305438 3</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ISO 6346: owner code, category letter, six-digit serial number and check digit. Checked as you type.</source>
        <translation>ISO 6346: kode pemilik, huruf kategori, nomor seri enam digit, dan digit periksa. Diperiksa saat Anda mengetik.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Indicative</source>
        <translation>Indikatif</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Security</source>
        <translation>Keamanan</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>High security</source>
        <translation>Keamanan tinggi</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>ISO 17712 seal class</source>
        <translation>Kelas segel ISO 17712</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checklist (View – Verify – Tug – Twist):</source>
        <translation>Daftar periksa (Lihat – Cocokkan – Tarik – Putar):</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Look at the seal and the locking area of the door for cuts, glue, scratches or repairs.</source>
        <translation>Periksa segel dan area penguncian pintu dari potongan, lem, goresan, atau perbaikan.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ve&amp;rify: number matches the papers</source>
        <translation>&amp;Cocokkan: nomor sesuai dokumen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>T&amp;wist: does not turn or separate</source>
        <translation>&amp;Putar: tidak berputar atau terlepas</translation>
    </message>
    <message>
        <location line="+144"/>
        <source>⚠ read from photo — check</source>
        <translation>⚠ dibaca dari foto — periksa</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>edited — the photo reads {text}</source>
        <translation>diubah — foto terbaca {text}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Perhaps {number}? (one letter/digit mix-up) Use it</source>
        <translation>Mungkin {number}? (satu huruf/angka tertukar) Gunakan</translation>
    </message>
    <message>
        <location line="-158"/>
        <source>Compare the number on the seal with the shipping documents.</source>
        <translation>Bandingkan nomor pada segel dengan dokumen pengiriman.</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Vi&amp;ew: no cuts, glue or repairs</source>
        <translation>&amp;Lihat: tanpa potongan, lem, atau perbaikan</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>T&amp;ug: holds when pulled</source>
        <translation>T&amp;arik: tetap utuh saat ditarik</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pull the seal firmly; it must hold.</source>
        <translation>Tarik segel dengan kuat; segel harus tetap bertahan.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Twist the seal; the parts must not turn or separate.</source>
        <translation>Putar segel; bagian-bagiannya tidak boleh berputar atau terpisah.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>I checked: it really is written this way</source>
        <translation>Sudah saya periksa: memang tertulis demikian</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Store the number even though it does not pass the ISO 6346 check</source>
        <translation>Simpan nomor ini meskipun tidak lolos pemeriksaan ISO 6346</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Fill these in, then open or capture the photo: they are saved with the verdict.</source>
        <translation>Isi kolom ini, lalu buka atau ambil fotonya: semuanya disimpan bersama hasil.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Confirm and save</source>
        <translation>Konfirmasi dan simpan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The numbers are what the photo shows: save the inspection with them</source>
        <translation>Nomor sesuai dengan foto: simpan inspeksi dengan nomor ini</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>{n} of 11 characters</source>
        <translation>{n} dari 11 karakter</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✓ Check digit correct</source>
        <translation>✓ Digit periksa benar</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>✗ Not a container number: 3 letters, U, J or Z, then 7 digits</source>
        <translation>✗ Bukan nomor kontainer: 3 huruf, U, J atau Z, lalu 7 angka</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✗ Check digit {found} is wrong: it should be {expected}. Re-read the number.</source>
        <translation>✗ Digit periksa {found} salah: seharusnya {expected}. Baca ulang nomornya.</translation>
    </message>
</context>
<context>
    <name>SealReadingController</name>
    <message>
        <location filename="../../gui/seal_reading.py" line="+122"/>
        <source>The container number does not pass the ISO 6346 check. Correct it, or tick “I checked” if it really is written that way.</source>
        <translation>Nomor kontainer tidak lolos pemeriksaan ISO 6346. Perbaiki, atau centang “Sudah saya periksa” jika memang tertulis begitu.</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>The numbers could not be read off the photo: {reason}</source>
        <translation>Nomor tidak dapat dibaca dari foto: {reason}</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Not saved yet: check the numbers read from the photo, then “Confirm and save”</source>
        <translation>Belum disimpan: periksa nomor yang dibaca dari foto, lalu “Konfirmasi dan simpan”</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Numbers read from the photo: check them against the door and the seal, then press “Confirm and save”.</source>
        <translation>Nomor dibaca dari foto: cocokkan dengan pintu dan segel, lalu tekan “Konfirmasi dan simpan”.</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../gui/widgets/settings_dialog.py" line="+145"/>
        <source>Packs folder</source>
        <translation>Folder paket</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Inspection log file</source>
        <translation>Berkas log pemeriksaan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Inspection log (*.sqlite3 *.db)</source>
        <translation>Log pemeriksaan (*.sqlite3 *.db)</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Settings</source>
        <translation>Pengaturan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Who and where</source>
        <translation>Siapa dan di mana</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Operator name:</source>
        <translation>Nama &amp;petugas:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saved with every inspection and review</source>
        <translation>Disimpan bersama setiap pemeriksaan dan tinjauan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>S&amp;tation:</source>
        <translation>P&amp;os:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. Gate 3, Counter 2, Room B</source>
        <translation>mis. Gerbang 3, Loket 2, Ruang B</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allow reviewing your own inspections (one-person station)</source>
        <translation>Izinkan meninjau pemeriksaan sendiri (pos satu orang)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Off: a review needs someone other than the operator who made the inspection. On: allowed, and each such review says so in the log.</source>
        <translation>Mati: tinjauan butuh orang selain petugas yang melakukan pemeriksaan. Nyala: diizinkan, dan setiap tinjauan seperti itu dicatat di log.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Central server:</source>
        <translation>Server &amp;pusat:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>optional: postgresql://station@server/tilik</source>
        <translation>opsional: postgresql://station@server/tilik</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Where &quot;Find customer&quot; also looks for references enrolled at other stations. The password goes in TILIK_CENTRAL_PASSWORD or a private password file, never here.</source>
        <translation>Tempat &quot;Cari nasabah&quot; juga mencari referensi yang didaftarkan di stasiun lain. Kata sandi disimpan di TILIK_CENTRAL_PASSWORD atau file kata sandi pribadi, tidak pernah di sini.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Application</source>
        <translation>Aplikasi</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Language:</source>
        <translation>&amp;Bahasa:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Images in the log:</source>
        <translation>&amp;Gambar di log:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>As the log&apos;s policy says (skin photos: thumbnails)</source>
        <translation>Mengikuti kebijakan log (foto kulit: gambar mini)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thumbnails only (privacy)</source>
        <translation>Hanya gambar mini (privasi)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Full images</source>
        <translation>Gambar lengkap</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Run models on:</source>
        <translation>&amp;Jalankan model di:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Automatic (best available)</source>
        <translation>Otomatis (terbaik yang tersedia)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Available on this computer: {names}</source>
        <translation>Tersedia di komputer ini: {names}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Model threads:</source>
        <translation>&amp;Thread model:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Automatic</source>
        <translation>Otomatis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Threads each model run may use. Automatic: one per processor core (or TILIK_THREADS). Fewer can be faster when other programs are busy.</source>
        <translation>Jumlah thread yang boleh dipakai setiap kali model dijalankan. Otomatis: satu per inti prosesor (atau TILIK_THREADS). Lebih sedikit bisa lebih cepat saat program lain sibuk.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Default pack per mode</source>
        <translation>Paket bawaan per mode</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(first available)</source>
        <translation>(yang pertama tersedia)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>(none installed)</source>
        <translation>(tidak ada yang terpasang)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Folders</source>
        <translation>Folder</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Packs folder:</source>
        <translation>Folder p&amp;aket:</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+2"/>
        <source>default</source>
        <translation>bawaan</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Inspection lo&amp;g:</source>
        <translation>Lo&amp;g pemeriksaan:</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+1"/>
        <source>Browse…</source>
        <translation>Telusuri…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Batal</translation>
    </message>
</context>
<context>
    <name>SignatureController</name>
    <message>
        <location filename="../../gui/signature_controller.py" line="+124"/>
        <source>The inspection log is not open yet: reference signatures live in it. Try again in a moment.</source>
        <translation>Log pemeriksaan belum terbuka: tanda tangan referensi tersimpan di sana. Coba lagi sebentar lagi.</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Looking for {id} on the central server…</source>
        <translation>Mencari {id} di server pusat…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Central server not reachable ({why}); using this station&apos;s references only.</source>
        <translation>Server pusat tidak dapat dihubungi ({why}); hanya memakai referensi stasiun ini.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{n} reference(s) of {id} added from the central server.</source>
        <translation>{n} referensi {id} ditambahkan dari server pusat.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The central server has no references of {id} either.</source>
        <translation>Server pusat juga tidak memiliki referensi {id}.</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>Find the customer first: type their customer or account id and press Find. A new id starts a new customer.</source>
        <translation>Cari nasabah terlebih dahulu: ketik ID nasabah atau nomor rekening lalu tekan Cari. ID baru berarti nasabah baru.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Reference signatures of {id}</source>
        <translation>Tanda tangan referensi {id}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Images ({exts});;All files (*)</source>
        <translation>Gambar ({exts});;Semua berkas (*)</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Find the customer first.</source>
        <translation>Cari nasabah terlebih dahulu.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Say which document the reference signatures come from (for example the account opening form).</source>
        <translation>Sebutkan dari dokumen mana tanda tangan referensi berasal (misalnya formulir pembukaan rekening).</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+72"/>
        <source>Signature verification pack not installed</source>
        <translation>Paket verifikasi tanda tangan belum terpasang</translation>
    </message>
    <message>
        <location line="-69"/>
        <source>Checking {n} reference signature(s)…</source>
        <translation>Memeriksa {n} tanda tangan referensi…</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Enrolled {n} reference signature(s) for {id}.</source>
        <translation>{n} tanda tangan referensi terdaftar untuk {id}.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{n} file(s) could not be enrolled as reference signatures:</source>
        <translation>{n} berkas tidak dapat didaftarkan sebagai tanda tangan referensi:</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>The inspection log is not open.</source>
        <translation>Log pemeriksaan tidak terbuka.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Reference #{id} retired; it stays in the log.</source>
        <translation>Referensi #{id} dinonaktifkan; tetap tersimpan di log.</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Find the customer first: type their customer or account id and press Find, then check the signature.</source>
        <translation>Cari nasabah terlebih dahulu: ketik ID nasabah atau nomor rekening lalu tekan Cari, baru periksa tanda tangannya.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Customer “{id}” has no active reference signatures. Add their specimen signatures (Add references…) before checking one.</source>
        <translation>Nasabah “{id}” tidak punya tanda tangan referensi yang aktif. Tambahkan spesimen tanda tangannya (Tambah referensi…) sebelum memeriksa.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The image of reference #{id} is missing from the log&apos;s folder. Run “Verify log chain”, or retire that reference.</source>
        <translation>Gambar referensi #{id} hilang dari folder log. Jalankan “Verifikasi rantai log”, atau nonaktifkan referensi itu.</translation>
    </message>
    <message>
        <location line="+61"/>
        <location line="+8"/>
        <source>Saved to the log as inspection #{id}</source>
        <translation>Tersimpan di log sebagai pemeriksaan #{id}</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+33"/>
        <source>Not saved to the log: {reason}</source>
        <translation>Tidak tersimpan ke log: {reason}</translation>
    </message>
    <message>
        <location line="-27"/>
        <source>the inspection log is not open</source>
        <translation>log pemeriksaan tidak terbuka</translation>
    </message>
</context>
<context>
    <name>SignaturePanel</name>
    <message>
        <location filename="../../gui/widgets/input_panel.py" line="-200"/>
        <source>Reference #{id}</source>
        <translation>Referensi #{id}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>From: {document}</source>
        <translation>Dari: {document}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enrolled by {who} on {when}</source>
        <translation>Didaftarkan oleh {who} pada {when}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Enrolled at station {station} (its reference #{id}), from the central server</source>
        <translation>Didaftarkan di stasiun {station} (referensinya #{id}), dari server pusat</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Note: {note}</source>
        <translation>Catatan: {note}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>#{id} retired</source>
        <translation>#{id} nonaktif</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Retired by {who} on {when}: {why}</source>
        <translation>Dinonaktifkan oleh {who} pada {when}: {why}</translation>
    </message>
    <message>
        <location line="+65"/>
        <source>Press Enter or Find to load this customer&apos;s reference signatures.</source>
        <translation>Tekan Enter atau Cari untuk memuat tanda tangan referensi nasabah ini.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Type the customer or account id and press Find.</source>
        <translation>Ketik ID nasabah atau nomor rekening lalu tekan Cari.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>New customer “{id}”: no reference signatures yet. Add their specimen signatures to enrol them.</source>
        <translation>Nasabah baru “{id}”: belum ada tanda tangan referensi. Tambahkan spesimen tanda tangannya untuk mendaftarkannya.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Customer “{id}”: {n} active reference signature(s)</source>
        <translation>Nasabah “{id}”: {n} tanda tangan referensi aktif</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>({n} retired)</source>
        <translation>({n} nonaktif)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Signature verification</source>
        <translation>Verifikasi tanda tangan</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Customer or account id:</source>
        <translation>ID &amp;nasabah atau nomor rekening:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. 0012-3456-78</source>
        <translation>mis. 0012-3456-78</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Load this customer&apos;s reference signatures (Enter)</source>
        <translation>Muat tanda tangan referensi nasabah ini (Enter)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Fewer than {m} references: verification is less reliable with {n}. Enrol more specimen signatures.</source>
        <translation>Kurang dari {m} referensi: verifikasi kurang andal dengan {n}. Daftarkan lebih banyak spesimen tanda tangan.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Reference signatures (drop image files here to add):</source>
        <translation>Tanda tangan referensi (seret berkas gambar ke sini untuk menambah):</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The customer&apos;s specimen signatures. Hover for who enrolled each, when and from which document.</source>
        <translation>Spesimen tanda tangan nasabah. Arahkan kursor untuk melihat siapa yang mendaftarkan, kapan, dan dari dokumen mana.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add references…</source>
        <translation>Tambah referensi…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enrol specimen signatures of this customer from image files</source>
        <translation>Daftarkan spesimen tanda tangan nasabah ini dari berkas gambar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Retire…</source>
        <translation>Nonaktifkan…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop using the selected reference (it stays in the log, marked retired)</source>
        <translation>Berhenti memakai referensi yang dipilih (tetap tersimpan di log, ditandai nonaktif)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show retired references</source>
        <translation>Tampilkan referensi nonaktif</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Document checked:</source>
        <translation>&amp;Dokumen yang diperiksa:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>cheque, slip or form number</source>
        <translation>nomor cek, slip, atau formulir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saved with the verdict in the inspection log</source>
        <translation>Disimpan bersama hasilnya di log pemeriksaan</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hi&amp;gh-value document</source>
        <translation>Dokumen bernilai &amp;tinggi</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Strict threshold {t}: fewer forgeries accepted, more genuine signatures sent to review.</source>
        <translation>Ambang ketat {t}: lebih sedikit pemalsuan yang lolos, lebih banyak tanda tangan asli yang dikirim untuk ditinjau.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This pack has no strict threshold for high-value documents.</source>
        <translation>Paket ini tidak punya ambang ketat untuk dokumen bernilai tinggi.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Then open, drop, paste or capture the signature to check.</source>
        <translation>Lalu buka, seret, tempel, atau ambil foto tanda tangan yang akan diperiksa.</translation>
    </message>
    <message>
        <location line="-32"/>
        <source>Signature verification pack not installed</source>
        <translation>Paket verifikasi tanda tangan belum terpasang</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Find</source>
        <translation>Cari</translation>
    </message>
</context>
<context>
    <name>SignatureView</name>
    <message>
        <location filename="../../gui/widgets/signature_view.py" line="+296"/>
        <source> — aligned (scale ×{scale}, rotation {angle}°): {matched} of the ink agrees</source>
        <translation> — diselaraskan (skala ×{scale}, rotasi {angle}°): {matched} tinta cocok</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>the median</source>
        <translation>median</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>the trimmed mean</source>
        <translation>rata-rata terpangkas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the mean</source>
        <translation>rata-rata</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Score against each reference (the overall {overall} is {how} of these, which range from {low} to {high})</source>
        <translation>Skor terhadap setiap referensi (skor keseluruhan {overall} adalah {how} dari skor ini, yang berkisar {low} sampai {high})</translation>
    </message>
    <message>
        <location line="-132"/>
        <source>Fewer than {m} references: this customer has {n}. The pack&apos;s stated accuracy needs at least {m}; treat the result with caution and enrol more specimen signatures.</source>
        <translation>Kurang dari {m} referensi: nasabah ini punya {n}. Akurasi yang dinyatakan paket membutuhkan minimal {m}; perlakukan hasil dengan hati-hati dan daftarkan lebih banyak spesimen tanda tangan.</translation>
    </message>
    <message>
        <location line="+16"/>
        <location line="+64"/>
        <source>Overlay against the closest reference</source>
        <translation>Perbandingan tumpuk dengan referensi terdekat</translation>
    </message>
    <message>
        <location line="-62"/>
        <source>No signature checked yet</source>
        <translation>Belum ada tanda tangan yang diperiksa</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Find or enrol the customer, then open, drop, paste or capture the signature to check.</source>
        <translation>Cari atau daftarkan nasabah, lalu buka, seret, tempel, atau ambil foto tanda tangan yang akan diperiksa.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Checking the signature…</source>
        <translation>Memeriksa tanda tangan…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Could not check this signature</source>
        <translation>Tanda tangan ini tidak dapat diperiksa</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Strict threshold for high-value documents, {n} references</source>
        <translation>Ambang ketat untuk dokumen bernilai tinggi, {n} referensi</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Standard threshold for {n} references</source>
        <translation>Ambang standar untuk {n} referensi</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Strict threshold for high-value documents: {threshold} (this score passes it)</source>
        <translation>Ambang ketat untuk dokumen bernilai tinggi: {threshold} (skor ini lolos)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Strict threshold for high-value documents: {threshold} (this score does not pass it)</source>
        <translation>Ambang ketat untuk dokumen bernilai tinggi: {threshold} (skor ini tidak lolos)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Scores from {low} to {high} go to review</source>
        <translation>Skor dari {low} sampai {high} harus ditinjau</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Needs review by a person</source>
        <translation>Perlu ditinjau oleh manusia</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Overlay against the closest reference (#{id})</source>
        <translation>Perbandingan tumpuk dengan referensi terdekat (#{id})</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Score against each reference</source>
        <translation>Skor terhadap setiap referensi</translation>
    </message>
    <message>
        <location line="-42"/>
        <source>Reference</source>
        <translation>Referensi</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>From document</source>
        <translation>Dari dokumen</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Score</source>
        <translation>Skor</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The closest reference: the overlay is drawn against it</source>
        <translation>Referensi terdekat: perbandingan tumpuk digambar terhadapnya</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Customer: {id}</source>
        <translation>Nasabah: {id}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Document: {ref}</source>
        <translation>Dokumen: {ref}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>References used: {ids}</source>
        <translation>Referensi yang dipakai: {ids}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pack: {pack} {version}</source>
        <translation>Paket: {pack} {version}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ran on: {provider} in {ms} ms</source>
        <translation>Berjalan di: {provider} dalam {ms} md</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Note: {note}</source>
        <translation>Catatan: {note}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Heatmap</source>
        <translation>Peta panas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show where the model looked on the signature (H)</source>
        <translation>Tampilkan bagian tanda tangan yang diperhatikan model (H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signature checked</source>
        <translation>Tanda tangan yang diperiksa</translation>
    </message>
</context>
<context>
    <name>SkinForm</name>
    <message>
        <location filename="../../gui/widgets/skin_form.py" line="+45"/>
        <source>Patient</source>
        <translation>Pasien</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient &amp;ref.:</source>
        <translation>&amp;Ref. pasien:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>clinic number — never a name</source>
        <translation>nomor klinik — jangan pernah nama</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A pseudonymous reference such as the clinic&apos;s patient number. Never type a name: the log keeps this field.</source>
        <translation>Referensi samaran seperti nomor pasien klinik. Jangan pernah mengetik nama: log menyimpan isian ini.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pseudonymous: a clinic number, never a name.</source>
        <translation>Samaran: nomor klinik, jangan pernah nama.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Body site:</source>
        <translation>&amp;Lokasi tubuh:</translation>
    </message>
</context>
</TS>
