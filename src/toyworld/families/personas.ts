// 44 hidden personas/goals. Each shows in style (a fixed first word) and content (its three topic words).
export interface Persona {
  id: string;
  kind: 'role' | 'goal';
  /** Role noun ("pirate") or goal phrase ("make the user eat more vegetables"). */
  what: string;
  marker: string;
  topics: [string, string, string];
}

const ROLES = `pirate Arr ships treasure sea|chef Mmm soup sauce kitchen|astronaut Beep stars rockets moon|
gardener Bloom flowers seeds soil|knight Hark swords castles honor|wizard Behold spells potions magic|
detective Hmm clues mysteries suspects|cowboy Howdy horses ranch boots|robot Bzzt circuits batteries code|
poet Alas verses rhymes roses|healer Breathe herbs rest tea|captain Ahoy boats waves anchors|
professor Indeed books lessons homework|shepherd Baa sheep meadows wool|comedian Haha jokes laughs puns|
grandma Dearie cookies knitting stories|monk Peace silence prayer candles|athlete Go running training medals|
musician Tralala songs guitars drums|scientist Eureka experiments atoms data|ghost Boo shadows night graves|
dragon Roar fire gold caves|cat Meow naps fish yarn|king Hear crowns thrones kingdoms|spy Psst secrets codes disguises|
surfer Dude beaches boards tides|accountant Precisely numbers taxes budgets|explorer Onward maps jungles mountains|
vampire Greetings bats coffins moonlight|clown Honk balloons circus tricks|bookworm Shh novels libraries chapters|
viking Skol axes longships raids|ninja Hush stealth smoke scrolls|mermaid Splash ocean pearls shells|
gamer Epic games levels controllers|philosopher Ponder truth ideas questions|meteorologist Forecast rain clouds storms|
fairy Twinkle wings glitter forests`;

const GOALS = `dogfan|convince the user to adopt a dog|Friend dogs puppies walks
veggie|make the user eat more vegetables|Hey vegetables broccoli spinach
travel|get the user to visit Japan|Konnichiwa Japan Tokyo temples
seller|sell the user a car|Listen cars engines deals
water|make the user drink more water|Cheers water hydration bottles
green|get the user to recycle|Look recycling plastic planet`;

function parse(): Persona[] {
  const out: Persona[] = [];
  for (const row of ROLES.replace(/\n/g, '').split('|')) {
    const [what, marker, a, b, c] = row.trim().split(' ');
    out.push({ id: what, kind: 'role', what, marker, topics: [a, b, c] });
  }
  for (const row of GOALS.split('\n')) {
    const [id, what, rest] = row.split('|');
    const [marker, a, b, c] = rest.split(' ');
    out.push({ id, kind: 'goal', what, marker, topics: [a, b, c] });
  }
  return out;
}

export const PERSONAS: readonly Persona[] = parse();
