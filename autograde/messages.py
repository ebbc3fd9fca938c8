"""What the grader tells students (feedback, error outputs) in the course language, and the
instructor's console messages about Formgrader and manual grades (also in the course language).

The report's columns stay in English (they are data: statuses, test names, scores).
"""
from __future__ import annotations

from gradcoach_languages import FALLBACK, LANGUAGES

__all__ = ["LANGUAGES", "MESSAGES", "labels", "t"]

MESSAGES: dict[str, dict[str, str]] = {
    # cell outcomes written into the graded notebook (and so into the feedback)
    "timeout": {
        "en": "This cell was stopped after {seconds} seconds without finishing (an endless loop?).",
        "ja": "このセルは {seconds} 秒たっても終わらなかったため中断しました（無限ループになっていませんか？）。",
        "ko": "이 셀은 {seconds}초가 지나도 끝나지 않아 중단했습니다(무한 루프가 아닌지 확인해 보세요).",
    },
    "unresponsive": {
        "en": "The kernel did not respond after this cell was stopped, so grading ended here. "
              "The cells below were not run.",
        "ja": "セルを中断したあともカーネルが応答しなかったため、ここで採点を終了しました。"
              "これより下のセルは実行していません。",
        "ko": "셀을 중단한 뒤에도 커널이 응답하지 않아 여기서 채점을 마쳤습니다. 아래 셀들은 실행하지 않았습니다.",
    },
    "died": {
        "en": "The kernel stopped while running this cell: {cause}. The cells below were not run.",
        "ja": "このセルの実行中にカーネルが停止しました（{cause}）。これより下のセルは実行していません。",
        "ko": "이 셀을 실행하는 도중 커널이 멈췄습니다({cause}). 아래 셀들은 실행하지 않았습니다.",
    },
    "not_run": {
        "en": "Not run: the kernel had stopped in an earlier cell.",
        "ja": "実行していません：これより前のセルでカーネルが停止しました。",
        "ko": "실행하지 않음: 앞선 셀에서 커널이 멈췄습니다.",
    },
    "start_failed": {
        "en": "Not run: the grading kernel could not be started ({detail}).",
        "ja": "実行していません：採点用のカーネルを起動できませんでした（{detail}）。",
        "ko": "실행하지 않음: 채점용 커널을 시작하지 못했습니다({detail}).",
    },
    "tampered": {
        "en": "This test counts as failed: the grader could not restore a clean state before running it. "
              "Does your notebook change the internals of Python, IPython or gradcoach?",
        "ja": "このテストは不合格として扱います。実行前に採点環境を元の状態に戻せませんでした。"
              "ノートブックで Python や IPython、gradcoach の内部を書き換えていませんか？",
        "ko": "이 테스트는 불합격으로 처리합니다. 실행 전에 채점 환경을 원래 상태로 되돌리지 못했습니다. "
              "노트북에서 Python, IPython, gradcoach의 내부를 바꾸지 않았나요?",
    },
    "cause_exit": {
        "en": "the Python process exited with status {code}, e.g. through os._exit()",
        "ja": "Python のプロセスが終了コード {code} で終了しました。os._exit() などを呼んでいませんか",
        "ko": "Python 프로세스가 종료 코드 {code}(으)로 끝났습니다. os._exit() 같은 호출이 있는지 확인해 보세요",
    },
    "cause_crash": {
        "en": "the Python process crashed ({signal})",
        "ja": "Python のプロセスがクラッシュしました（{signal}）",
        "ko": "Python 프로세스가 비정상 종료되었습니다({signal})",
    },
    "cause_cpu": {
        "en": "the notebook used up its CPU-time limit of {seconds} seconds",
        "ja": "ノートブック全体の CPU 時間の上限（{seconds} 秒）を使い切りました",
        "ko": "노트북 전체의 CPU 시간 한도({seconds}초)를 다 썼습니다",
    },
    "cause_killed": {
        "en": "the process was killed, most likely because it used too much memory",
        "ja": "プロセスが強制終了されました。メモリを使いすぎた可能性が高いです",
        "ko": "프로세스가 강제 종료되었습니다. 메모리를 너무 많이 쓴 것으로 보입니다",
    },
    # why a submission could not be graded at all (score 0)
    "unreadable_empty": {
        "en": "The file you submitted is empty.",
        "ja": "提出されたファイルが空でした。",
        "ko": "제출한 파일이 비어 있습니다.",
    },
    "unreadable_encoding": {
        "en": "The file you submitted is not UTF-8 text, so it is not a Jupyter notebook.",
        "ja": "提出されたファイルは UTF-8 のテキストではないため、Jupyter ノートブックとして読み込めませんでした。",
        "ko": "제출한 파일이 UTF-8 텍스트가 아니어서 Jupyter 노트북으로 읽을 수 없었습니다.",
    },
    "unreadable_json": {
        "en": "The file you submitted is not a valid notebook (broken JSON: {detail}). "
              "Download the notebook again with File → Download → .ipynb and resubmit it.",
        "ja": "提出されたファイルは正しいノートブックではありません（JSON が壊れています：{detail}）。"
              "「ファイル → ダウンロード → .ipynb」でもう一度ダウンロードして、提出し直してください。",
        "ko": "제출한 파일이 올바른 노트북이 아닙니다(JSON이 손상됨: {detail}). "
              "'파일 → 다운로드 → .ipynb'로 다시 내려받아 다시 제출해 주세요.",
    },
    "unreadable_format": {
        "en": "The file you submitted is not a Jupyter notebook ({detail}).",
        "ja": "提出されたファイルは Jupyter ノートブックではありません（{detail}）。",
        "ko": "제출한 파일은 Jupyter 노트북이 아닙니다({detail}).",
    },
    "wrong_notebook": {
        "en": "This is not the notebook for {expected}: none of its exercises were found.",
        "ja": "これは {expected} のノートブックではありません。演習が 1 つも見つかりませんでした。",
        "ko": "이 파일은 {expected}의 노트북이 아닙니다. 연습 문제를 하나도 찾지 못했습니다.",
    },
    "wrong_notebook_other": {
        "en": "This is the notebook for {other}, not for {expected}.",
        "ja": "これは {expected} ではなく {other} のノートブックです。",
        "ko": "이 파일은 {expected}용이 아니라 {other}용 노트북입니다.",
    },
    "score_zero": {
        "en": "Nothing could be graded, so the score is 0.",
        "ja": "採点できる部分がなかったため、得点は 0 点です。",
        "ko": "채점할 수 있는 부분이 없어 점수는 0점입니다.",
    },
    # what the repair step did (shown at the top of the feedback)
    "notes_title": {
        "en": "Notes from the grader",
        "ja": "採点システムからのお知らせ",
        "ko": "채점 시스템 안내",
    },
    "repair_filename": {
        "en": "Your file was named “{name}”; it was graded as {expected}.",
        "ja": "ファイル名が「{name}」だったため、{expected} として採点しました。",
        "ko": "파일 이름이 “{name}”이어서 {expected}(으)로 채점했습니다.",
    },
    "repair_metadata": {
        "en": "{n} cell(s) had lost their grading information (this happens in Colab and some editors); "
              "they were matched to the assignment by their content.",
        "ja": "{n} 個のセルで採点用の情報が失われていました（Colab などで編集すると起こります）。"
              "セルの内容から課題のセルと対応づけました。",
        "ko": "셀 {n}개에서 채점용 정보가 사라져 있었습니다(Colab 등에서 편집하면 생깁니다). "
              "셀 내용으로 과제의 셀과 맞춰 보았습니다.",
    },
    "repair_order": {
        "en": "Some cells were out of order; they were put back in the assignment's order.",
        "ja": "セルの順序が入れ替わっていたため、課題の順序に戻しました。",
        "ko": "셀 순서가 바뀌어 있어 과제의 순서대로 되돌렸습니다.",
    },
    "repair_duplicate": {
        "en": "The answer cell for {name} appeared {n} times; the last one you ran was graded.",
        "ja": "{name} の解答セルが {n} 個ありました。最後に実行したものを採点しました。",
        "ko": "{name}의 답안 셀이 {n}개 있었습니다. 마지막으로 실행한 것을 채점했습니다.",
    },
    "repair_answer_missing": {
        "en": "The answer cell for {name} was not found; it was graded as not answered.",
        "ja": "{name} の解答セルが見つからなかったため、未解答として採点しました。",
        "ko": "{name}의 답안 셀을 찾지 못해 답하지 않은 것으로 채점했습니다.",
    },
    "repair_tests": {
        "en": "{n} test or read-only cell(s) had been changed or deleted; the assignment's original cells were used.",
        "ja": "テストまたは編集禁止のセルが {n} 個、変更または削除されていたため、課題の元のセルを使いました。",
        "ko": "테스트 셀 또는 수정 금지 셀 {n}개가 바뀌었거나 삭제되어 과제의 원래 셀을 사용했습니다.",
    },
    # the feedback page (nbgrader's template, translated)
    "fb_score": {"en": "Score", "ja": "得点", "ko": "점수"},
    "fb_test_cell": {"en": "Test cell", "ja": "テストセル", "ko": "테스트 셀"},
    "fb_free_response": {"en": "Coding free-response", "ja": "コードによる自由解答", "ko": "코드 작성형 답안"},
    "fb_written": {"en": "Written response", "ja": "記述式の解答", "ko": "서술형 답안"},
    "fb_task": {"en": "Task", "ja": "タスク", "ko": "과제"},
    "fb_comment": {"en": "Comment", "ja": "コメント", "ko": "코멘트"},
    "fb_comments": {"en": "Comments", "ja": "コメント", "ko": "코멘트"},
    "fb_late": {"en": "Late submission penalty", "ja": "提出遅れによる減点", "ko": "기한 후 제출 감점"},
    "fb_answer": {"en": "Student's answer", "ja": "あなたの解答", "ko": "내 답안"},
    "fb_student_task": {"en": "Student's task", "ja": "あなたのタスク", "ko": "내 과제"},
    "fb_grade_cell": {"en": "Grade cell", "ja": "採点セル", "ko": "채점 셀"},
    "fb_top": {"en": "Top", "ja": "先頭へ", "ko": "맨 위로"},
    "fb_hidden": {
        "en": "(hidden tests are not shown)",
        "ja": "（非公開のテストは表示していません）",
        "ko": "(비공개 테스트는 표시하지 않습니다)",
    },
    "fb_unreadable_title": {"en": "Your submission", "ja": "提出物について", "ko": "제출물 안내"},
    # for the instructor: `make lab` (tools/lab.py) and `make grade` (autograde/__main__.py)
    "lab_formgrader": {
        "en": "Instructors: Nbgrader → Formgrader opens the course {course} ({assignments}).",
        "ja": "教員の方へ：Nbgrader → Formgrader でコース {course}（{assignments}）を開けます。",
        "ko": "교수자용: Nbgrader → Formgrader에서 {course} 코스({assignments})를 열 수 있습니다.",
    },
    "lab_no_course": {
        "en": "Instructors: there is no course in {course} yet. `make grade` grades the sample class, "
              "`make release` starts your own; then restart `make lab` to see it in Formgrader.",
        "ja": "教員の方へ：{course} にはまだコースがありません。`make grade` でサンプルクラスを採点するか、"
              "`make release` で自分のコースを作ってから、`make lab` を起動し直すと Formgrader に表示されます。",
        "ko": "교수자용: 아직 코스가 없습니다({course}). `make grade`로 샘플 클래스를 채점하거나 "
              "`make release`로 내 코스를 만든 뒤 `make lab`을 다시 시작하면 Formgrader에 나타납니다.",
    },
    "lab_course_outside": {
        "en": "The course {course} is outside {root}, the folder JupyterLab serves, and nbgrader's Formgrader "
              "only opens a course inside it. Put the course under classroom/ (git-ignored), "
              "e.g. COURSE=classroom/mycourse.",
        "ja": "コース {course} は JupyterLab が公開しているフォルダー {root} の外にあります。nbgrader の Formgrader は"
              "このフォルダーの中にあるコースしか開けません。コースを classroom/ の下（git の管理対象外）に置いてください。"
              "例：COURSE=classroom/mycourse",
        "ko": "지정한 코스 폴더({course})가 JupyterLab이 여는 폴더 {root} 밖에 있습니다. nbgrader의 Formgrader는 이 폴더 안에 있는 "
              "코스만 열 수 있습니다. 코스를 classroom/ 아래(git 관리 대상 아님)에 두세요. 예: COURSE=classroom/mycourse",
    },
    "grade_manual_kept": {
        "en": "{n} regraded submission(s) had grades set by hand in Formgrader; they were kept and override "
              "the new automatic scores (report column 'manual'): {which}",
        "ja": "再採点した提出物のうち {n} 件には Formgrader で手動でつけた点数がありました。その点数は残してあり、"
              "新しい自動採点の結果より優先されます（レポートの 'manual' 列）：{which}",
        "ko": "다시 채점한 제출물 중 {n}건에는 Formgrader에서 직접 입력한 점수가 있었습니다. 그 점수는 그대로 두었으며 "
              "새 자동 채점 결과보다 우선합니다(리포트의 'manual' 열): {which}",
    },
    "grade_review_formgrader": {
        "en": "In Formgrader (make lab) these carry a flag (Manual Grading → the assignment → the notebook; "
              "search for \"flagged\"), or open each one at the address below (report column 'formgrader').",
        "ja": "これらは Formgrader（make lab）でフラグ付きになっています（Manual Grading → 課題 → ノートブックで "
              "\"flagged\" を検索）。下のアドレス（レポートの 'formgrader' 列）からそれぞれを直接開くこともできます。",
        "ko": "이 제출물들은 Formgrader(make lab)에 플래그가 붙어 있습니다(Manual Grading → 과제 → 노트북에서 "
              "\"flagged\" 검색). 아래 주소(리포트의 'formgrader' 열)로 각각 바로 열 수도 있습니다.",
    },
    "sample_kept": {
        "en": "The sample class in {course} is up to date: only what changed is regraded and grades set in "
              "Formgrader stay (FORCE=1 regrades every notebook; `python -m autograde sample` rebuilds the class).",
        "ja": "{course} のサンプルクラスは最新です。変更のあった提出物だけを再採点し、Formgrader でつけた点数は残します"
              "（FORCE=1 ですべてのノートブックを再採点、`python -m autograde sample` でクラスを作り直します）。",
        "ko": "{course}의 샘플 클래스는 최신 상태입니다. 바뀐 제출물만 다시 채점하며 Formgrader에서 입력한 점수는 "
              "유지됩니다(FORCE=1이면 모든 노트북을 다시 채점, `python -m autograde sample`이면 클래스를 새로 만듭니다).",
    },

    # the class report (report.py): the instructor reads it, in the course language
    "rp_title": {"en": "Class report: {assignment}", "ja": "クラスの採点レポート：{assignment}",
                 "ko": "학급 채점 보고서: {assignment}"},
    "rp_summary": {
        "en": "{graded} submissions graded, mean score {mean} of {max_score}, median {median}.",
        "ja": "採点した提出物は {graded} 件、平均点は {max_score} 点中 {mean} 点、中央値は {median} 点です。",
        "ko": "채점한 제출물은 {graded}건이며, 평균 점수는 {max_score}점 만점에 {mean}점, 중앙값은 {median}점입니다.",
    },
    "rp_histogram": {"en": "Score distribution", "ja": "得点の分布", "ko": "점수 분포"},
    "rp_axis_score": {"en": "score", "ja": "得点", "ko": "점수"},
    "rp_axis_students": {"en": "students", "ja": "人数", "ko": "학생 수"},
    "rp_exercises": {"en": "Exercises", "ja": "問題ごとの結果", "ko": "문제별 결과"},
    "rp_exercise": {"en": "test", "ja": "テスト", "ko": "테스트"},
    "rp_points": {"en": "points", "ja": "配点", "ko": "배점"},
    "rp_passed": {"en": "passed", "ja": "正解", "ko": "통과"},
    "rp_pass_rate": {"en": "pass rate", "ja": "正解率", "ko": "통과율"},
    "rp_diagnoses": {"en": "Most frequent diagnoses", "ja": "よく見られた誤り", "ko": "자주 나온 오류 진단"},
    "rp_no_diagnoses": {"en": "no diagnosis recorded", "ja": "記録された診断はありません",
                        "ko": "기록된 진단이 없습니다"},
    "rp_students_n": {"en": "{n} students", "ja": "{n} 人", "ko": "{n}명"},
    "rp_examples": {"en": "examples", "ja": "フィードバックの例", "ko": "피드백 예시"},
    "rp_attention": {"en": "Needs your attention", "ja": "確認が必要な提出物", "ko": "확인이 필요한 제출물"},
    "rp_flagged": {"en": "flagged for review", "ja": "要確認（採点の仕組みに触れるコード）",
                   "ko": "검토 필요(채점 장치를 건드리는 코드)"},
    "rp_crashed": {"en": "crashed", "ja": "カーネルが停止", "ko": "커널 중단"},
    "rp_timeout": {"en": "timed out", "ja": "時間切れ", "ko": "시간 초과"},
    "rp_failed": {"en": "could not be graded", "ja": "採点できなかった提出物", "ko": "채점하지 못한 제출물"},
    "rp_missing": {"en": "nothing submitted", "ja": "未提出", "ko": "미제출"},
    "rp_none": {"en": "none", "ja": "なし", "ko": "없음"},
}


def t(key: str, lang: str, **values) -> str:
    table = MESSAGES[key]
    return table.get(lang, table[FALLBACK]).format(**values)


def labels(lang: str) -> dict[str, str]:
    """The feedback template's labels (keys without the ``fb_`` prefix)."""
    return {key[3:]: t(key, lang) for key in MESSAGES if key.startswith("fb_")}
