// Token text made visible: spaces and line breaks would otherwise vanish in a token chip.
export function visible(text: string): string {
  return text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
}
