import type { Locale } from "../core/messages.js";
import { plural } from "../core/plural.js";
import type { BroadcastStatus, RecipientStatus } from "../core/types.js";

/**
 * Every text the dashboard shows, per language. Used by the server's pages and bundled into the
 * browser code, so both say the same thing. Errors from the admin API arrive already in words.
 */
export interface DashboardCatalog {
  readonly title: string;
  readonly newBroadcast: string;
  readonly status: Readonly<Record<BroadcastStatus, string>>;
  readonly recipientState: Readonly<Record<RecipientStatus, string>>;
  readonly allStatuses: string;
  readonly filter: string;
  readonly firstPage: string;
  readonly previousPage: string;
  readonly nextPage: string;
  readonly noBroadcasts: string;
  readonly columns: {
    readonly id: string;
    readonly message: string;
    readonly status: string;
    readonly progress: string;
    readonly counts: string;
    readonly created: string;
  };
  readonly countsLine: (sent: number, failed: number, total: number) => string;
  readonly broadcastTitle: (id: number) => string;
  readonly backToList: string;
  readonly fields: {
    readonly total: string;
    readonly sent: string;
    readonly failed: string;
    readonly pending: string;
    readonly cancelled: string;
    readonly progressPct: string;
    readonly processedPct: string;
    readonly errorSummary: string;
    readonly created: string;
    readonly scheduled: string;
    readonly started: string;
    readonly finished: string;
    readonly parseMode: string;
    readonly plainText: string;
    readonly errorThreshold: string;
    readonly pauseReason: string;
  };
  readonly pauseReason: {
    readonly manual: string;
    readonly contentRefused: (description: string) => string;
    readonly errorThreshold: (failed: number, threshold: number) => string;
  };
  readonly progressLabel: (processedPct: number, progressPct: number) => string;
  readonly live: { readonly watching: string; readonly finished: string; readonly reconnecting: string };
  readonly actions: {
    readonly heading: string;
    readonly start: string;
    readonly schedule: string;
    readonly scheduleAt: string;
    readonly unschedule: string;
    readonly pause: string;
    readonly resume: string;
    readonly cancel: string;
    readonly retry: string;
    readonly includePermanent: string;
    readonly notNow: (status: string) => string;
    readonly confirmCancel: (id: number, pending: number) => string;
    readonly confirmCancelYes: string;
    readonly confirmCancelNo: string;
    readonly working: string;
    readonly done: string;
  };
  readonly charts: {
    readonly rate: string;
    readonly rateSeriesSent: string;
    readonly rateSeriesFailed: string;
    readonly rateNote: string;
    readonly averageRate: (perSecond: string, seconds: string) => string;
    readonly failures: string;
    readonly noFailures: string;
  };
  readonly recipients: {
    readonly heading: string;
    readonly all: string;
    readonly recipient: string;
    readonly chat: string;
    readonly state: string;
    readonly attempts: string;
    readonly lastError: string;
    readonly nextAttempt: string;
    readonly none: string;
    readonly stale: string;
    readonly showCurrent: string;
  };
  readonly create: {
    readonly heading: string;
    readonly message: string;
    readonly placeholderHelp: string;
    readonly parseMode: string;
    readonly recipients: string;
    readonly csvHelp: string;
    readonly upload: string;
    readonly paste: string;
    readonly parsed: (count: number, variables: readonly string[]) => string;
    readonly noRecipients: string;
    readonly missingColumns: string;
    readonly csvLine: (line: number, reason: string) => string;
    readonly badChatId: string;
    readonly badRecipientId: string;
    readonly preview: string;
    readonly previewFor: string;
    readonly previewEmpty: string;
    readonly length: (count: number, max: number) => string;
    readonly sendAt: (zone: string) => string;
    readonly sendAtHelp: string;
    readonly errorThreshold: string;
    readonly submitDraft: string;
    readonly submitScheduled: string;
    readonly uploading: (done: number, total: number) => string;
    readonly partial: (id: number) => string;
  };
  readonly errors: {
    readonly network: string;
    readonly unexpected: (status: number) => string;
    readonly streamFailed: string;
  };
  readonly pages: {
    readonly unauthenticated: string;
    readonly unauthenticatedHelp: string;
    readonly forbidden: string;
    readonly notFound: string;
    readonly methodNotAllowed: string;
    readonly internal: string;
  };
}

const recipientsEn = plural("en", { one: "recipient", other: "recipients" });
const recipientsRu = plural("ru", {
  one: "получатель",
  few: "получателя",
  many: "получателей",
  other: "получателя",
});

export const DASHBOARD_MESSAGES: Readonly<Record<Locale, DashboardCatalog>> = {
  en: {
    title: "Broadcasts",
    newBroadcast: "New broadcast",
    status: {
      draft: "Draft",
      scheduled: "Scheduled",
      sending: "Sending",
      paused: "Paused",
      sent: "Sent",
      completed: "Completed",
      failed: "Failed",
      cancelled: "Cancelled",
    },
    recipientState: { pending: "Pending", sent: "Sent", failed: "Failed", cancelled: "Cancelled" },
    allStatuses: "All statuses",
    filter: "Show",
    firstPage: "First page",
    previousPage: "Previous page",
    nextPage: "Next page",
    noBroadcasts: "No broadcasts here yet.",
    columns: {
      id: "#",
      message: "Message",
      status: "Status",
      progress: "Progress",
      counts: "Sent · failed · total",
      created: "Created",
    },
    countsLine: (sent, failed, total) => `${sent} · ${failed} · ${total}`,
    broadcastTitle: (id) => `Broadcast ${id}`,
    backToList: "All broadcasts",
    fields: {
      total: "Recipients",
      sent: "Sent",
      failed: "Failed",
      pending: "Pending",
      cancelled: "Cancelled",
      progressPct: "Delivered",
      processedPct: "Processed",
      errorSummary: "Error summary",
      created: "Created",
      scheduled: "Scheduled for",
      started: "Started",
      finished: "Finished",
      parseMode: "Parse mode",
      plainText: "Plain text",
      errorThreshold: "Pause after failures",
      pauseReason: "Paused because",
    },
    pauseReason: {
      manual: "someone paused it",
      contentRefused: (description) => `Telegram refused the message: ${description}`,
      errorThreshold: (failed, threshold) => `${failed} recipients failed (threshold ${threshold})`,
    },
    progressLabel: (processed, delivered) => `${processed} % processed · ${delivered} % delivered`,
    live: { watching: "Live", finished: "Final", reconnecting: "Connection lost; reconnecting…" },
    actions: {
      heading: "Actions",
      start: "Start now",
      schedule: "Schedule",
      scheduleAt: "Send at",
      unschedule: "Unschedule",
      pause: "Pause",
      resume: "Resume",
      cancel: "Cancel broadcast",
      retry: "Retry failed",
      includePermanent: "Include permanent failures (blocked, chat not found)",
      notNow: (status) => `Not possible while the broadcast is ${status.toLowerCase()}`,
      confirmCancel: (id, pending) =>
        `Cancel broadcast ${id}? ${pending} ${recipientsEn(pending)} not sent yet will never get it. This cannot be undone.`,
      confirmCancelYes: "Cancel broadcast",
      confirmCancelNo: "Keep it",
      working: "Working…",
      done: "Done",
    },
    charts: {
      rate: "Sending rate",
      rateSeriesSent: "sent/s",
      rateSeriesFailed: "failed/s",
      rateNote: "The chart fills while this page watches the broadcast send.",
      averageRate: (perSecond, seconds) => `Average ${perSecond} messages/s over ${seconds} s`,
      failures: "Failures by reason",
      noFailures: "No failures.",
    },
    recipients: {
      heading: "Recipients",
      all: "All",
      recipient: "Recipient",
      chat: "Chat",
      state: "State",
      attempts: "Attempts",
      lastError: "Last error",
      nextAttempt: "Next attempt",
      none: "No recipients in this state.",
      stale: "Recipients have changed since this list was loaded.",
      showCurrent: "Show current",
    },
    create: {
      heading: "New broadcast",
      message: "Message",
      placeholderHelp: "Placeholders: {{name}}, or {{name|default}} when a recipient has no value.",
      parseMode: "Parse mode",
      recipients: "Recipients",
      csvHelp: "CSV with a header line: recipient_id,chat_id, then one column per variable (name,city,…).",
      upload: "Upload a CSV file",
      paste: "or paste CSV",
      parsed: (count, variables) =>
        `${count} ${recipientsEn(count)}` +
        (variables.length > 0 ? `; variables: ${variables.join(", ")}` : ""),
      noRecipients: "No recipients yet.",
      missingColumns: "The header line must name the columns recipient_id and chat_id.",
      csvLine: (line, reason) => `Line ${line}: ${reason}`,
      badChatId: "chat_id must be an integer chat id or @channelusername",
      badRecipientId: "recipient_id must not be empty",
      preview: "Preview",
      previewFor: "Preview for recipient",
      previewEmpty: "Type a message to see it as a recipient will.",
      length: (count, max) => `${count} of ${max} characters`,
      sendAt: (zone) => `Send at (your time zone, ${zone})`,
      sendAtHelp: "Leave empty to create a draft you start yourself.",
      errorThreshold: "Pause after this many failures (optional)",
      submitDraft: "Create draft",
      submitScheduled: "Create and schedule",
      uploading: (done, total) => `Sending recipients to the server: ${done} of ${total}`,
      partial: (id) => `Broadcast ${id} was created as a draft with only part of the recipients.`,
    },
    errors: {
      network: "Could not reach the server. Check the connection and try again.",
      unexpected: (status) => `The server answered unexpectedly (HTTP ${status}).`,
      streamFailed: "Live progress stopped",
    },
    pages: {
      unauthenticated: "Sign in required",
      unauthenticatedHelp: "This dashboard is only shown to signed-in administrators.",
      forbidden: "You are not allowed to see this page.",
      notFound: "Page not found",
      methodNotAllowed: "This page cannot be used that way.",
      internal: "Something went wrong on the server. Try again later.",
    },
  },
  ru: {
    title: "Рассылки",
    newBroadcast: "Новая рассылка",
    status: {
      draft: "Черновик",
      scheduled: "Запланирована",
      sending: "Отправляется",
      paused: "На паузе",
      sent: "Отправлена",
      completed: "Завершена",
      failed: "Не доставлена",
      cancelled: "Отменена",
    },
    recipientState: { pending: "Ожидает", sent: "Отправлено", failed: "Ошибка", cancelled: "Отменено" },
    allStatuses: "Все статусы",
    filter: "Показать",
    firstPage: "Первая страница",
    previousPage: "Предыдущая страница",
    nextPage: "Следующая страница",
    noBroadcasts: "Рассылок пока нет.",
    columns: {
      id: "№",
      message: "Сообщение",
      status: "Статус",
      progress: "Прогресс",
      counts: "Отправлено · ошибки · всего",
      created: "Создана",
    },
    countsLine: (sent, failed, total) => `${sent} · ${failed} · ${total}`,
    broadcastTitle: (id) => `Рассылка ${id}`,
    backToList: "Все рассылки",
    fields: {
      total: "Получатели",
      sent: "Отправлено",
      failed: "Ошибки",
      pending: "Ожидают",
      cancelled: "Отменено",
      progressPct: "Доставлено",
      processedPct: "Обработано",
      errorSummary: "Сводка ошибок",
      created: "Создана",
      scheduled: "Запланирована на",
      started: "Начата",
      finished: "Закончена",
      parseMode: "Разметка",
      plainText: "Простой текст",
      errorThreshold: "Пауза после ошибок",
      pauseReason: "Причина паузы",
    },
    pauseReason: {
      manual: "приостановлена вручную",
      contentRefused: (description) => `Telegram отклонил сообщение: ${description}`,
      errorThreshold: (failed, threshold) => `ошибок: ${failed} (порог ${threshold})`,
    },
    progressLabel: (processed, delivered) => `обработано ${processed} % · доставлено ${delivered} %`,
    live: { watching: "В эфире", finished: "Итог", reconnecting: "Соединение потеряно; переподключаемся…" },
    actions: {
      heading: "Действия",
      start: "Запустить сейчас",
      schedule: "Запланировать",
      scheduleAt: "Отправить в",
      unschedule: "Снять с расписания",
      pause: "Приостановить",
      resume: "Продолжить",
      cancel: "Отменить рассылку",
      retry: "Повторить неудачные",
      includePermanent: "Включая постоянные ошибки (бот заблокирован, чат не найден)",
      notNow: (status) => `Недоступно, пока статус рассылки «${status}»`,
      confirmCancel: (id, pending) =>
        `Отменить рассылку ${id}? Ещё не отправлено: ${pending}; эти получатели её не получат. Это нельзя отменить.`,
      confirmCancelYes: "Отменить рассылку",
      confirmCancelNo: "Не отменять",
      working: "Выполняется…",
      done: "Готово",
    },
    charts: {
      rate: "Скорость отправки",
      rateSeriesSent: "отправлено/с",
      rateSeriesFailed: "ошибок/с",
      rateNote: "График заполняется, пока эта страница следит за отправкой.",
      averageRate: (perSecond, seconds) => `В среднем ${perSecond} сообщ./с за ${seconds} с`,
      failures: "Ошибки по причинам",
      noFailures: "Ошибок нет.",
    },
    recipients: {
      heading: "Получатели",
      all: "Все",
      recipient: "Получатель",
      chat: "Чат",
      state: "Состояние",
      attempts: "Попытки",
      lastError: "Последняя ошибка",
      nextAttempt: "Следующая попытка",
      none: "Нет получателей в этом состоянии.",
      stale: "Получатели изменились после загрузки списка.",
      showCurrent: "Обновить",
    },
    create: {
      heading: "Новая рассылка",
      message: "Сообщение",
      placeholderHelp: "Подстановки: {{name}} или {{name|по умолчанию}}, если у получателя нет значения.",
      parseMode: "Разметка",
      recipients: "Получатели",
      csvHelp:
        "CSV со строкой заголовков: recipient_id,chat_id, затем по столбцу на переменную (name,city,…).",
      upload: "Загрузить CSV-файл",
      paste: "или вставить CSV",
      parsed: (count, variables) =>
        `${count} ${recipientsRu(count)}` +
        (variables.length > 0 ? `; переменные: ${variables.join(", ")}` : ""),
      noRecipients: "Получателей пока нет.",
      missingColumns: "В строке заголовков должны быть столбцы recipient_id и chat_id.",
      csvLine: (line, reason) => `Строка ${line}: ${reason}`,
      badChatId: "chat_id должен быть целым номером чата или @channelusername",
      badRecipientId: "recipient_id не может быть пустым",
      preview: "Предпросмотр",
      previewFor: "Предпросмотр для получателя",
      previewEmpty: "Введите сообщение, чтобы увидеть его глазами получателя.",
      length: (count, max) => `${count} из ${max} символов`,
      sendAt: (zone) => `Отправить в (ваш часовой пояс, ${zone})`,
      sendAtHelp: "Оставьте пустым, чтобы создать черновик и запустить его самим.",
      errorThreshold: "Приостановить после стольких ошибок (необязательно)",
      submitDraft: "Создать черновик",
      submitScheduled: "Создать и запланировать",
      uploading: (done, total) => `Передаём получателей на сервер: ${done} из ${total}`,
      partial: (id) => `Рассылка ${id} создана черновиком только с частью получателей.`,
    },
    errors: {
      network: "Не удалось связаться с сервером. Проверьте соединение и повторите.",
      unexpected: (status) => `Сервер ответил неожиданно (HTTP ${status}).`,
      streamFailed: "Живой прогресс остановлен",
    },
    pages: {
      unauthenticated: "Требуется вход",
      unauthenticatedHelp: "Эта панель доступна только вошедшим администраторам.",
      forbidden: "У вас нет доступа к этой странице.",
      notFound: "Страница не найдена",
      methodNotAllowed: "Эту страницу нельзя использовать так.",
      internal: "На сервере что-то пошло не так. Повторите позже.",
    },
  },
};
