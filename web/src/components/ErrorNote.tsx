import { inWords } from "../errors";

/** A failed call, in the gateway's words, with its ErrorInfo reason. */
export function ErrorNote({ error, title = "That did not work" }: { error: unknown; title?: string }) {
  if (!error) return null;
  const words = inWords(error);
  return (
    <div className="error" role="alert">
      <strong>{title}</strong> <code className="reason">{words.reason}</code>
      {words.message && <p>{words.message}</p>}
      {words.fields.length > 0 && (
        <ul>
          {words.fields.map((field) => (
            <li key={field}>{field}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
