"""What the grader tells students (feedback, error outputs) in the course language.

The instructor-facing report and console output are in English; everything a student reads is
in the course language.
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
        "ja": "これは {expected} のノートブックではありません。課題の問題がひとつも見つかりませんでした。",
        "ko": "이 파일은 {expected}의 노트북이 아닙니다. 과제의 문제를 하나도 찾지 못했습니다.",
    },
    "wrong_notebook_other": {
        "en": "This is the notebook for {other}, not for {expected}.",
        "ja": "これは {expected} ではなく {other} のノートブックです。",
        "ko": "이 파일은 {expected}가 아니라 {other}의 노트북입니다.",
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
    "fb_free_response": {"en": "Coding free-response", "ja": "コードによる自由解答", "ko": "코드 자유 응답"},
    "fb_written": {"en": "Written response", "ja": "記述式の解答", "ko": "서술형 답안"},
    "fb_task": {"en": "Task", "ja": "タスク", "ko": "과제"},
    "fb_comment": {"en": "Comment", "ja": "コメント", "ko": "코멘트"},
    "fb_comments": {"en": "Comments", "ja": "コメント", "ko": "코멘트"},
    "fb_late": {"en": "Late submission penalty", "ja": "提出遅れによる減点", "ko": "지각 제출 감점"},
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
