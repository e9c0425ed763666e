// Hash routing (#/explore): works from any static server, and the back button moves between pages.
import { PAGES } from '../pages/registry';

export const route = $state({ page: current() });

function current(): string {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? id : PAGES[0].id;
}

addEventListener('hashchange', () => (route.page = current()));

export function go(id: string): void {
  location.hash = `#/${id}`;
}
